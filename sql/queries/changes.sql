-- What changed for one plan's area between a moment ($since) and now: per indicator and
-- year, the value (reviderat, nytt, borttaget) and what followed from it (rank, colour,
-- target), from the marts as known then (the _as_of macros) and as they are now.
WITH was AS (
    SELECT goal_id, indicator_id, year, value, rank, colour_label, target_result
    FROM mart.goal_indicator_status_as_of($since, plan_filter := $plan_id)
    WHERE plan_id = $plan_id AND municipality_id = $municipality_id
),

now_ AS (
    SELECT goal_id, indicator_id, year, value, rank, colour_label, target_result, source
    FROM mart.goal_indicator_status
    WHERE plan_id = $plan_id AND municipality_id = $municipality_id
)

SELECT
    goal_id,
    indicator_id,
    gi.series_id,
    year,
    CASE
        WHEN was.value IS NULL AND now_.value IS NOT NULL THEN 'nytt'
        WHEN was.value IS NOT NULL AND now_.value IS NULL THEN 'borttaget'
        WHEN was.value <> now_.value THEN 'reviderat'
    END AS change,
    was.value AS old_value,
    now_.value AS new_value,
    was.rank AS old_rank,
    now_.rank AS new_rank,
    was.colour_label AS old_colour,
    now_.colour_label AS new_colour,
    was.target_result AS old_target,
    now_.target_result AS new_target,
    now_.source
FROM was
FULL JOIN now_ USING (goal_id, indicator_id, year)
LEFT JOIN core.goal_indicator AS gi USING (goal_id, indicator_id)
WHERE gi.plan_id = $plan_id
    -- A row that is new (or gone) without a value is no change: nothing was published.
    AND NOT (was.colour_label IS NULL AND now_.value IS NULL)
    AND NOT (now_.colour_label IS NULL AND was.value IS NULL)
    AND (
        was.value IS DISTINCT FROM now_.value
        OR was.rank IS DISTINCT FROM now_.rank
        OR was.colour_label IS DISTINCT FROM now_.colour_label
        OR was.target_result IS DISTINCT FROM now_.target_result
    )
ORDER BY goal_id, indicator_id, year
