-- Descriptions analysts see in duckdb_tables() / duckdb_columns() and in BI tools.
COMMENT ON TABLE core.schema_migration IS 'Migrations applied to this warehouse (sql/migrations).';
COMMENT ON TABLE core.run IS 'One row per refresh, rebuild or load: status, counts, warnings and error.';
COMMENT ON TABLE raw.response IS 'Every HTTP response a run used, as in the raw landing manifest.';
COMMENT ON TABLE core.kpi IS 'Kolada''s KPI catalogue.';
COMMENT ON TABLE core.municipality IS 'Kolada''s areas: kommuner (type K), regions and Riket (type L).';
COMMENT ON TABLE core.municipality_group IS 'Kolada''s comparison groups.';
COMMENT ON TABLE core.municipality_group_member IS 'Members of Kolada''s comparison groups.';
COMMENT ON TABLE core.observation IS
    'One value per series, area, year and gender, from Kolada, SCB or derived; key (series_id, municipality_id, year, gender).';
COMMENT ON TABLE core.goal_plan IS 'Goal plans as loaded from goals/*.yaml.';
COMMENT ON TABLE core.goal IS 'Goals of each plan.';
COMMENT ON TABLE core.goal_indicator IS 'Indicators of each goal: series, direction, comparison group and target.';
COMMENT ON TABLE core.series IS 'SCB and derived series declared in plans (Kolada KPIs are in core.kpi).';

COMMENT ON COLUMN core.observation.source IS 'kolada, scb or derived.';
COMMENT ON COLUMN core.observation.series_id IS 'Kolada KPI id (N15507) or a plan''s SCB/derived series id (scb:population).';
COMMENT ON COLUMN core.observation.municipality_id IS 'Four-digit area code: 0000 Riket, 0001 Region Stockholm, 0115 Vallentuna.';
COMMENT ON COLUMN core.observation.gender IS 'T (total), K (women) or M (men).';
COMMENT ON COLUMN core.observation.value IS 'The value; null when the source has none.';
COMMENT ON COLUMN core.observation.count IS 'Kolada''s count of contributing members; null for SCB.';
COMMENT ON COLUMN core.observation.status IS 'Kolada''s status or SCB''s symbol (.., ., -); null when empty.';
COMMENT ON COLUMN core.observation.is_deleted IS 'Kolada marks the value deleted: treat as no value.';
COMMENT ON COLUMN core.observation.table_id IS 'SCB table the value came from; null for Kolada.';
COMMENT ON COLUMN core.observation.source_updated IS 'SCB''s updated time; null for Kolada.';
COMMENT ON COLUMN core.observation.response_hash IS 'sha256 of the raw response body the row came from (raw.response.content_hash).';
COMMENT ON COLUMN core.observation.run_id IS 'The run that last changed the row (core.run).';
