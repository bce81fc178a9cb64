-- mart.goal_indicator_status: one row per plan, goal, indicator, area and year.
--
-- The rows are computed at load time into mart.goal_indicator_status_base
-- (sql/marts/build/goal_indicator_status_base.sql says how: areas, years, ranks, colours,
-- targets); this view adds the attribution from core.attribution (transforms/rules.py),
-- which says "Exempeldata" in a warehouse of generated sample values.
CREATE OR REPLACE VIEW mart.goal_indicator_status AS
SELECT
    base.* EXCLUDE (source_kind, unavailable_reason),
    coalesce(sample.text, attribution.text) AS source,
    base.unavailable_reason
FROM mart.goal_indicator_status_base AS base
LEFT JOIN core.attribution AS attribution ON attribution.kind = base.source_kind
LEFT JOIN (
    SELECT text FROM core.attribution
    WHERE kind = 'sample' AND EXISTS (SELECT 1 FROM core.warehouse_info WHERE key = 'sample_data')
) AS sample ON true;

COMMENT ON VIEW mart.goal_indicator_status IS
    'Per plan, goal, indicator, area and year: value, comparisons, rank, colour and target. '
    'Every kommun (or every region for a region plan), the plan''s years, the year before and any year with data.';
COMMENT ON COLUMN mart.goal_indicator_status.plan_id IS 'Goal plan id (core.goal_plan).';
COMMENT ON COLUMN mart.goal_indicator_status.goal_id IS 'Goal id within the plan.';
COMMENT ON COLUMN mart.goal_indicator_status.indicator_id IS 'Indicator id within the goal (Kolada KPI id or the plan''s series id by default).';
COMMENT ON COLUMN mart.goal_indicator_status.kpi_title IS 'Indicator title: the plan''s title, else Kolada''s KPI title, else the series title.';
COMMENT ON COLUMN mart.goal_indicator_status.municipality_id IS 'Area code, four digits (Kolada''s codes).';
COMMENT ON COLUMN mart.goal_indicator_status.municipality_name IS 'Area name from Kolada.';
COMMENT ON COLUMN mart.goal_indicator_status.year IS 'Year of the value.';
COMMENT ON COLUMN mart.goal_indicator_status.value IS 'Value for both genders (T); null when missing, deleted, or before the indicator''s first comparable year.';
COMMENT ON COLUMN mart.goal_indicator_status.riket_value IS 'Value for Riket (0000) the same year.';
COMMENT ON COLUMN mart.goal_indicator_status.county_value IS 'Value for the plan''s county (region) the same year; null where it has no value.';
COMMENT ON COLUMN mart.goal_indicator_status.peer_value IS 'Unweighted mean of the comparison group members'' values that year; only on the plan''s own area, null elsewhere.';
COMMENT ON COLUMN mart.goal_indicator_status.peer_basis IS 'How peer_value was computed: the group and how many members had a value.';
COMMENT ON COLUMN mart.goal_indicator_status.change_from_previous_year IS 'value minus the value the year before (null when either is missing).';
COMMENT ON COLUMN mart.goal_indicator_status.rank IS 'Rank among areas with a value that year, 1 = best in the direction; ties share a rank (1, 2, 2, 4). Null without a value or direction.';
COMMENT ON COLUMN mart.goal_indicator_status.ranked_count IS 'Number of areas with a value that year (null without a direction).';
COMMENT ON COLUMN mart.goal_indicator_status.colour IS 'green: best quarter, red: worst quarter, yellow: between; grey without a value, without a direction, or with fewer than 4 ranked areas.';
COMMENT ON COLUMN mart.goal_indicator_status.direction IS 'higher or lower is better; null when the indicator has no direction.';
COMMENT ON COLUMN mart.goal_indicator_status.target IS 'The target in words, as the plan states it.';
COMMENT ON COLUMN mart.goal_indicator_status.target_met IS 'Whether the target is met; null without a target, without a value, or when the reference has no value.';
COMMENT ON COLUMN mart.goal_indicator_status.is_latest IS 'True on the latest year with a value for this indicator and area.';
COMMENT ON COLUMN mart.goal_indicator_status.source IS 'Attribution to print under a table or chart (says Exempeldata in a demo warehouse of generated values).';
COMMENT ON COLUMN mart.goal_indicator_status.unavailable_reason IS 'Why there is no comparable value: the plan''s reason, or the years before the first comparable year.';
