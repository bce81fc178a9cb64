-- The plan's succeeded refreshes, newest first (core.run.plan_id is the plan file's name).
SELECT run_id, started_at, ended_at
FROM core.run
WHERE kind = 'refresh' AND status = 'succeeded' AND plan_id = $plan_key
ORDER BY ended_at DESC
