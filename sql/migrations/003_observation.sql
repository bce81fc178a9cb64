-- The shared indicator model (docs/architecture.md, transforms/schema.py):
-- one value per series, area, year and gender. run_id is the run that last changed it.
--
-- Key: (series_id, municipality_id, year, gender). It is not declared as a PRIMARY KEY on
-- purpose: DuckDB's index made a 5-million-row load 2.3 times slower. warehouse/load.py
-- keeps it unique instead: rows are merged on the key, and a load that would insert a
-- key twice fails and rolls back.
CREATE TABLE core.observation (
    source          VARCHAR NOT NULL CHECK (source IN ('kolada', 'scb', 'derived')),
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
