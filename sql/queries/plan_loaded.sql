-- Whether a plan has been loaded before (a refresh then reports what it changed).
SELECT count(*) > 0 AS loaded FROM core.goal_plan WHERE plan_id = $plan_id
