-- The run log knows which process a run is: a run still 'running' whose process is gone
-- (killed, the machine stopped) is marked 'abandoned' by the next run, with the reason.
-- A run stopped by Ctrl-C or SIGTERM is 'interrupted'. DuckDB changes a CHECK only by
-- rebuilding the table, which is done here once, with the same columns and key.
ALTER TABLE core.run RENAME TO run_009;
CREATE TABLE core.run (
    run_id         VARCHAR PRIMARY KEY,
    kind           VARCHAR NOT NULL,
    plan_id        VARCHAR,
    started_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    ended_at       TIMESTAMPTZ,
    status         VARCHAR NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'succeeded', 'failed', 'refused', 'interrupted', 'abandoned')),
    requests_made  INTEGER,
    rows_inserted  BIGINT,
    rows_updated   BIGINT,
    rows_unchanged BIGINT,
    warnings       VARCHAR[],
    error          VARCHAR,
    parameters     JSON,
    rows_deleted   BIGINT,
    host           VARCHAR,
    pid            INTEGER
);
INSERT INTO core.run
SELECT *, NULL, NULL FROM core.run_009;
DROP TABLE core.run_009;

COMMENT ON TABLE core.run IS 'One row per refresh, rebuild or load: status, counts, warnings and error.';
COMMENT ON COLUMN core.run.status IS 'running, succeeded, failed, refused (bad input), interrupted (Ctrl-C, SIGTERM) or abandoned (its process died; set by the next run).';
COMMENT ON COLUMN core.run.host IS 'The machine the run ran on.';
COMMENT ON COLUMN core.run.pid IS 'Its process id there (a later run marks it abandoned once that process is gone).';
