-- Definition and membership changes since a moment, of KPIs and groups a plan uses
-- ($plan_id null: any plan).
SELECT kind, id, title, field, old_value, new_value, changed_at, used_by
FROM mart.definition_changes
WHERE changed_at > $since
    AND used_by IS NOT NULL
    AND ($plan_id IS NULL OR contains(used_by, $plan_id || ' ('))
ORDER BY kind DESC, id, field, changed_at
