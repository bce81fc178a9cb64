-- Kolada's catalogue: KPIs, areas (kommuner, regioner, Riket) and comparison groups.
-- run_id is the run that last changed the row.
CREATE TABLE core.kpi (
    id                    VARCHAR PRIMARY KEY,
    title                 VARCHAR NOT NULL,
    description           VARCHAR,
    is_divided_by_gender  BOOLEAN,
    municipality_type     VARCHAR,
    auspice               VARCHAR,
    operating_area        VARCHAR,
    perspective           VARCHAR,
    prel_publication_date DATE,
    publication_date      DATE,
    publ_period           INTEGER,
    has_ou_data           BOOLEAN,
    run_id                VARCHAR NOT NULL
);

CREATE TABLE core.municipality (
    id     VARCHAR PRIMARY KEY CHECK (regexp_full_match(id, '[0-9]{4}')),
    title  VARCHAR NOT NULL,
    type   VARCHAR NOT NULL CHECK (type IN ('K', 'L')),
    run_id VARCHAR NOT NULL
);

CREATE TABLE core.municipality_group (
    id     VARCHAR PRIMARY KEY,
    title  VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL
);

CREATE TABLE core.municipality_group_member (
    group_id     VARCHAR NOT NULL,
    member_id    VARCHAR NOT NULL,
    member_title VARCHAR,
    run_id       VARCHAR NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
