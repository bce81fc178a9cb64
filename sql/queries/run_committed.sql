-- Whether a run's load committed: its answers are recorded in the same transaction.
SELECT count(*) > 0 AS committed FROM raw.response WHERE run_id = $run_id
