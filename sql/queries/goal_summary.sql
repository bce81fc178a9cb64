-- One plan's goal summary, optionally for one area and/or one year.
SELECT *
FROM mart.goal_summary
WHERE plan_id = $plan_id
  AND ($municipality_id IS NULL OR municipality_id = $municipality_id)
  AND ($year IS NULL OR year = $year)
ORDER BY goal_id, municipality_id, year
