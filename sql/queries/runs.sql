-- The latest runs, newest first.
SELECT
    run_id, kind, plan_id, started_at, ended_at, status, requests_made,
    rows_inserted, rows_updated, rows_unchanged, warnings, error, parameters
FROM core.run
ORDER BY started_at DESC, run_id DESC
LIMIT $limit
