-- Goals of one plan whose status for its area changed between $since and now.
WITH was AS (
    SELECT goal_id, year, status FROM mart.goal_summary_as_of($since, plan_filter := $plan_id)
    WHERE plan_id = $plan_id AND municipality_id = $municipality_id
),

now_ AS (
    SELECT goal_id, year, status FROM mart.goal_summary
    WHERE plan_id = $plan_id AND municipality_id = $municipality_id
)

SELECT goal_id, year, was.status AS old_status, now_.status AS new_status
FROM was
FULL JOIN now_ USING (goal_id, year)
WHERE was.status IS DISTINCT FROM now_.status
ORDER BY goal_id, year
