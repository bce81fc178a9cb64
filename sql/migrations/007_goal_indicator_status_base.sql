-- The materialised body of mart.goal_indicator_status, rebuilt in every load's
-- transaction from sql/marts/build/goal_indicator_status_base.sql. Ranking every
-- kommun for every indicator and year at query time took 250-300 ms on a national
-- warehouse (5 M observations); reading this table for one kommun and year takes a few.
-- Analysts query the view mart.goal_indicator_status, not this table.
CREATE TABLE mart.goal_indicator_status_base (
    plan_id                   VARCHAR NOT NULL,
    goal_id                   VARCHAR NOT NULL,
    indicator_id              VARCHAR NOT NULL,
    kpi_title                 VARCHAR,
    municipality_id           VARCHAR NOT NULL,
    municipality_name         VARCHAR,
    year                      INTEGER NOT NULL,
    value                     DOUBLE,
    riket_value               DOUBLE,
    county_value              DOUBLE,
    peer_value                DOUBLE,
    peer_basis                VARCHAR,
    change_from_previous_year DOUBLE,
    rank                      BIGINT,
    ranked_count              BIGINT,
    colour                    VARCHAR NOT NULL,
    direction                 VARCHAR,
    target                    VARCHAR,
    target_met                BOOLEAN,
    is_latest                 BOOLEAN NOT NULL,
    source_kind               VARCHAR NOT NULL,
    unavailable_reason        VARCHAR
);

COMMENT ON TABLE mart.goal_indicator_status_base IS
    'Materialised body of the view mart.goal_indicator_status, rebuilt by every load. Query the view.';
