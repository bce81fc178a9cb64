-- One run by its id, or by a unique start of it.
SELECT run_id, kind, status, started_at, ended_at
FROM core.run
WHERE starts_with(run_id, $run_id)
ORDER BY started_at
