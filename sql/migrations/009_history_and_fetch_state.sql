-- History: every version of every observation, catalogue row and plan row, beside the
-- current tables and written in the same transaction as them (warehouse/history.py).
-- A version is valid from valid_from (the load's transaction time) until valid_to (the
-- load that replaced or removed it; null while current). The current tables stay as
-- they were, so every query and mart that reads them is as fast as before; the
-- *_as_of(at) table macros read these (sql/history/, docs/history.md).
--
-- Kolada's deleted values (isdeleted) leave core.observation and stay here as a version
-- with is_deleted = true; change says what the version was: new, revised or deleted.
CREATE TABLE core.observation_history AS
SELECT o.*, now() AS valid_from, NULL::TIMESTAMPTZ AS valid_to, 'new' AS change
FROM core.observation AS o
LIMIT 0;
ALTER TABLE core.observation_history ALTER COLUMN valid_from SET NOT NULL;

-- A warehouse made before history was kept: its current rows are the first versions,
-- valid from the start of the run that loaded them (never after that run's end, so the
-- run's own as-of reproduction holds).
INSERT INTO core.observation_history
SELECT o.*, coalesce(r.started_at, now()), NULL, 'new'
FROM core.observation AS o
LEFT JOIN core.run AS r USING (run_id);

CREATE TABLE core.kpi_history AS
SELECT t.*, now() AS valid_from, NULL::TIMESTAMPTZ AS valid_to FROM core.kpi AS t LIMIT 0;
CREATE TABLE core.municipality_history AS
SELECT t.*, now() AS valid_from, NULL::TIMESTAMPTZ AS valid_to FROM core.municipality AS t LIMIT 0;
CREATE TABLE core.municipality_group_history AS
SELECT t.*, now() AS valid_from, NULL::TIMESTAMPTZ AS valid_to
FROM core.municipality_group AS t LIMIT 0;
CREATE TABLE core.municipality_group_member_history AS
SELECT t.*, now() AS valid_from, NULL::TIMESTAMPTZ AS valid_to
FROM core.municipality_group_member AS t LIMIT 0;
CREATE TABLE core.goal_plan_history AS
SELECT t.*, now() AS valid_from, NULL::TIMESTAMPTZ AS valid_to FROM core.goal_plan AS t LIMIT 0;
CREATE TABLE core.goal_history AS
SELECT t.*, now() AS valid_from, NULL::TIMESTAMPTZ AS valid_to FROM core.goal AS t LIMIT 0;
CREATE TABLE core.goal_indicator_history AS
SELECT t.*, now() AS valid_from, NULL::TIMESTAMPTZ AS valid_to
FROM core.goal_indicator AS t LIMIT 0;
CREATE TABLE core.series_history AS
SELECT t.*, now() AS valid_from, NULL::TIMESTAMPTZ AS valid_to FROM core.series AS t LIMIT 0;

INSERT INTO core.kpi_history
SELECT t.*, coalesce(r.started_at, now()), NULL FROM core.kpi AS t LEFT JOIN core.run AS r USING (run_id);
INSERT INTO core.municipality_history
SELECT t.*, coalesce(r.started_at, now()), NULL
FROM core.municipality AS t LEFT JOIN core.run AS r USING (run_id);
INSERT INTO core.municipality_group_history
SELECT t.*, coalesce(r.started_at, now()), NULL
FROM core.municipality_group AS t LEFT JOIN core.run AS r USING (run_id);
INSERT INTO core.municipality_group_member_history
SELECT t.*, coalesce(r.started_at, now()), NULL
FROM core.municipality_group_member AS t LEFT JOIN core.run AS r USING (run_id);
INSERT INTO core.goal_plan_history
SELECT t.*, coalesce(r.started_at, t.loaded_at), NULL
FROM core.goal_plan AS t LEFT JOIN core.run AS r USING (run_id);
INSERT INTO core.goal_history
SELECT t.*, coalesce(r.started_at, p.loaded_at), NULL
FROM core.goal AS t JOIN core.goal_plan AS p USING (plan_id) LEFT JOIN core.run AS r ON r.run_id = p.run_id;
INSERT INTO core.goal_indicator_history
SELECT t.*, coalesce(r.started_at, p.loaded_at), NULL
FROM core.goal_indicator AS t JOIN core.goal_plan AS p USING (plan_id)
LEFT JOIN core.run AS r ON r.run_id = p.run_id;
INSERT INTO core.series_history
SELECT t.*, coalesce((SELECT min(started_at) FROM core.run), now()), NULL FROM core.series AS t;

-- What the last successful refresh fetched, per source, series and year: the next
-- refresh asks Kolada only for what changed since fetched_at (less a safety overlap),
-- and skips an SCB series whose tables' `updated` stamps (source_stamp) have not moved.
CREATE TABLE core.fetch_state (
    source       VARCHAR NOT NULL,
    series_id    VARCHAR NOT NULL,
    year         INTEGER NOT NULL,
    fetched_at   TIMESTAMPTZ NOT NULL,
    source_stamp VARCHAR,
    run_id       VARCHAR NOT NULL,
    PRIMARY KEY (source, series_id, year)
);

-- Deleted values are counted apart from revised ones.
ALTER TABLE core.run ADD COLUMN rows_deleted BIGINT;

COMMENT ON TABLE core.observation_history IS
    'Every version of every observation: valid_from/valid_to (null: current), change new/revised/deleted, the run and response that brought it.';
COMMENT ON COLUMN core.observation_history.valid_from IS 'When the warehouse learnt this version (the load''s time).';
COMMENT ON COLUMN core.observation_history.valid_to IS 'When a later load replaced or deleted it; null while it is the current version.';
COMMENT ON COLUMN core.observation_history.change IS 'new, revised or deleted (Kolada''s isdeleted: the value left core.observation).';
COMMENT ON TABLE core.kpi_history IS 'Every version of every Kolada KPI definition (title, description, gender split …), valid_from/valid_to.';
COMMENT ON TABLE core.municipality_group_member_history IS 'Comparison-group membership per fetch, with validity dates.';
COMMENT ON TABLE core.fetch_state IS
    'Per source, series and year: when the last successful refresh fetched it, and (SCB) the tables'' updated stamps then.';
