-- Goal plans (goals/*.yaml) as loaded: a reload replaces all rows of that plan.
CREATE TABLE core.goal_plan (
    plan_id             VARCHAR PRIMARY KEY,
    title               VARCHAR NOT NULL,
    vision              VARCHAR,
    municipality_id     VARCHAR NOT NULL,
    county_id           VARCHAR,
    first_year          INTEGER NOT NULL,
    last_year           INTEGER NOT NULL,
    default_group_id    VARCHAR,
    status_met_share    DOUBLE NOT NULL DEFAULT 0.667
        CHECK (status_met_share BETWEEN 0 AND 1),
    status_partly_share DOUBLE NOT NULL DEFAULT 0.333
        CHECK (status_partly_share BETWEEN 0 AND 1),
    status_min_coverage DOUBLE NOT NULL DEFAULT 0.5
        CHECK (status_min_coverage BETWEEN 0 AND 1),
    note                VARCHAR,
    source_file         VARCHAR,
    content_hash        VARCHAR,
    definition          JSON,
    run_id              VARCHAR,
    loaded_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (first_year <= last_year),
    CHECK (status_partly_share <= status_met_share)
);

CREATE TABLE core.goal (
    plan_id     VARCHAR NOT NULL,
    goal_id     VARCHAR NOT NULL,
    position    INTEGER NOT NULL,
    title       VARCHAR NOT NULL,
    description VARCHAR,
    PRIMARY KEY (plan_id, goal_id)
);

CREATE TABLE core.goal_indicator (
    plan_id             VARCHAR NOT NULL,
    goal_id             VARCHAR NOT NULL,
    indicator_id        VARCHAR NOT NULL,
    position            INTEGER NOT NULL,
    source              VARCHAR NOT NULL CHECK (source IN ('kolada', 'scb', 'derived')),
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

-- SCB and derived series declared in plans (Kolada KPIs live in core.kpi).
CREATE TABLE core.series (
    series_id   VARCHAR PRIMARY KEY,
    source      VARCHAR NOT NULL CHECK (source IN ('scb', 'derived', 'kolada')),
    title       VARCHAR,
    unit        VARCHAR,
    table_ids   VARCHAR[],
    definition  JSON,
    attribution VARCHAR
);
