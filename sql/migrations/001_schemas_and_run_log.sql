-- Schemas, the migration record and the run log.
-- raw: what came over the wire; core: the cleaned model; mart: what analysts query.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS mart;

CREATE TABLE core.schema_migration (
    version    INTEGER PRIMARY KEY,
    name       VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per refresh, rebuild or load; written in its own transactions so failed
-- and refused runs are kept.
CREATE TABLE core.run (
    run_id         VARCHAR PRIMARY KEY,
    kind           VARCHAR NOT NULL,
    plan_id        VARCHAR,
    started_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    ended_at       TIMESTAMPTZ,
    status         VARCHAR NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'succeeded', 'failed', 'refused')),
    requests_made  INTEGER,
    rows_inserted  BIGINT,
    rows_updated   BIGINT,
    rows_unchanged BIGINT,
    warnings       VARCHAR[],
    error          VARCHAR,
    parameters     JSON
);

-- One row per HTTP response, as recorded in the raw landing manifest.
CREATE TABLE raw.response (
    run_id       VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,
    method       VARCHAR,
    url          VARCHAR NOT NULL,
    request_body VARCHAR,
    fetched_at   TIMESTAMPTZ,
    status       INTEGER,
    content_hash VARCHAR,
    bytes        BIGINT
);
