-- Per series among the given ones: whether it has a value in the years, and whether one
-- of them is the plan's area's (the run's "no values" warnings).
SELECT series_id, bool_or(municipality_id = $municipality_id) AS focus
FROM core.observation
WHERE series_id IN (SELECT unnest($series_ids))
    AND year BETWEEN $first_year AND $last_year
    AND value IS NOT NULL AND NOT is_deleted
GROUP BY series_id
