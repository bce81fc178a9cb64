-- The current observations of the given series (the inputs of derived series).
SELECT
    source, series_id, municipality_id, year, gender, value, count, status, is_deleted,
    table_id, source_updated, response_hash
FROM core.observation
WHERE series_id IN (SELECT unnest($series_ids))
