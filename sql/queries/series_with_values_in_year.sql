-- Which of the given series have at least one value in the year (the baseline check).
SELECT DISTINCT series_id
FROM core.observation
WHERE year = $year AND series_id IN (SELECT unnest($series_ids)) AND NOT is_deleted
