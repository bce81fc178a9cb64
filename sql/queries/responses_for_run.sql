-- The HTTP responses one run recorded, in the order they were fetched.
SELECT run_id, source, kind, method, url, request_body, fetched_at, status, content_hash, bytes
FROM raw.response
WHERE run_id = $run_id
ORDER BY fetched_at, url
