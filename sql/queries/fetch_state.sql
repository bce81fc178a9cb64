-- What earlier successful refreshes fetched of the given series (core.fetch_state).
SELECT source, series_id, year, fetched_at, source_stamp
FROM core.fetch_state
WHERE series_id IN (SELECT unnest($series_ids))
