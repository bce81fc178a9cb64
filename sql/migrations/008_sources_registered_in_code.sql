-- Sources are registered in code (sources/registry.py), and the municipality's own files
-- are the third ('own'). The source columns lose the CHECK that listed the sources:
-- DuckDB changes a CHECK only by rebuilding the table, which a new source should not need.
-- The tables are rebuilt once here, with the same columns, keys and other checks.
ALTER TABLE core.observation RENAME TO observation_007;
CREATE TABLE core.observation (
    source          VARCHAR NOT NULL,
    series_id       VARCHAR NOT NULL,
    municipality_id VARCHAR NOT NULL,
    year            INTEGER NOT NULL,
    gender          VARCHAR NOT NULL CHECK (gender IN ('T', 'K', 'M')),
    value           DOUBLE,
    count           INTEGER,
    status          VARCHAR,
    is_deleted      BOOLEAN NOT NULL DEFAULT false,
    table_id        VARCHAR,
    source_updated  TIMESTAMPTZ,
    response_hash   VARCHAR,
    run_id          VARCHAR NOT NULL
);
INSERT INTO core.observation SELECT * FROM core.observation_007;
DROP TABLE core.observation_007;

ALTER TABLE core.goal_indicator RENAME TO goal_indicator_007;
CREATE TABLE core.goal_indicator (
    plan_id             VARCHAR NOT NULL,
    goal_id             VARCHAR NOT NULL,
    indicator_id        VARCHAR NOT NULL,
    position            INTEGER NOT NULL,
    source              VARCHAR NOT NULL,
    series_id           VARCHAR NOT NULL,
    title               VARCHAR,
    direction           VARCHAR CHECK (direction IN ('higher', 'lower')),
    comparison_group_id VARCHAR,
    from_year           INTEGER,
    target_kind         VARCHAR CHECK (target_kind IN ('value', 'compare', 'rank', 'colour')),
    target_operator     VARCHAR CHECK (target_operator IN ('>=', '>', '<=', '<', '=', '==')),
    target_value        DOUBLE,
    target_reference    VARCHAR CHECK (target_reference IN ('riket', 'county', 'peers')),
    target_colour       VARCHAR CHECK (target_colour IN ('green', 'yellow')),
    target_text         VARCHAR,
    note                VARCHAR,
    unavailable_reason  VARCHAR,
    PRIMARY KEY (plan_id, goal_id, indicator_id),
    CHECK (target_kind <> 'value' OR target_value IS NOT NULL),
    CHECK (target_kind <> 'rank' OR target_value IS NOT NULL),
    CHECK (target_kind <> 'compare' OR target_reference IS NOT NULL),
    CHECK (target_kind <> 'colour' OR target_colour IS NOT NULL)
);
INSERT INTO core.goal_indicator SELECT * FROM core.goal_indicator_007;
DROP TABLE core.goal_indicator_007;

ALTER TABLE core.series RENAME TO series_007;
CREATE TABLE core.series (
    series_id   VARCHAR PRIMARY KEY,
    source      VARCHAR NOT NULL,
    title       VARCHAR,
    unit        VARCHAR,
    table_ids   VARCHAR[],
    definition  JSON,
    attribution VARCHAR
);
INSERT INTO core.series SELECT * FROM core.series_007;
DROP TABLE core.series_007;

-- A plan's status thresholds are always written by the load (transforms/rules.py holds
-- their defaults); defaults here would be a second statement of the same rule.
ALTER TABLE core.goal_plan ALTER COLUMN status_met_share DROP DEFAULT;
ALTER TABLE core.goal_plan ALTER COLUMN status_partly_share DROP DEFAULT;
ALTER TABLE core.goal_plan ALTER COLUMN status_min_coverage DROP DEFAULT;

-- The text printed under each kind of data; written from transforms/rules.py (ATTRIBUTION)
-- whenever the views are created, so the mart and core.series say the same.
CREATE TABLE core.attribution (
    kind VARCHAR PRIMARY KEY,
    text VARCHAR NOT NULL
);

COMMENT ON TABLE core.observation IS
    'One value per series, area, year and gender, from Kolada, SCB, the municipality''s own files or derived; key (series_id, municipality_id, year, gender).';
COMMENT ON COLUMN core.observation.source IS 'kolada, scb, own (the municipality''s own file) or derived.';
COMMENT ON COLUMN core.observation.series_id IS 'Kolada KPI id (N15507) or a plan''s series id (scb:population, own:sjukfranvaro).';
COMMENT ON COLUMN core.observation.municipality_id IS 'Four-digit area code: 0000 Riket, 0001 Region Stockholm, 0115 Vallentuna.';
COMMENT ON COLUMN core.observation.gender IS 'T (total), K (women) or M (men).';
COMMENT ON COLUMN core.observation.value IS 'The value; null when the source has none.';
COMMENT ON COLUMN core.observation.count IS 'Kolada''s count of contributing members; null for other sources.';
COMMENT ON COLUMN core.observation.status IS 'Kolada''s status or SCB''s symbol (.., ., -); null when empty.';
COMMENT ON COLUMN core.observation.is_deleted IS 'Kolada marks the value deleted: treat as no value.';
COMMENT ON COLUMN core.observation.table_id IS 'SCB table, or the own file, the value came from; null for Kolada.';
COMMENT ON COLUMN core.observation.source_updated IS 'SCB''s updated time; null for other sources.';
COMMENT ON COLUMN core.observation.response_hash IS 'sha256 of the raw response body (or own file) the row came from (raw.response.content_hash).';
COMMENT ON COLUMN core.observation.run_id IS 'The run that last changed the row (core.run).';
COMMENT ON TABLE core.goal_indicator IS 'Indicators of each goal: series, direction, comparison group and target.';
COMMENT ON TABLE core.series IS 'SCB, own-file and derived series declared in plans (Kolada KPIs are in core.kpi).';
COMMENT ON TABLE core.attribution IS 'The attribution text for each kind of data (kolada, scb, derived, own, sample).';
