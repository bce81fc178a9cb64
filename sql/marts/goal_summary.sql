-- mart.goal_summary: one row per plan, goal, area and year, built on
-- mart.goal_indicator_status (this file is applied after it: files run in name order).
--
-- An indicator is assessed when it has a value and either a target that could be judged
-- or, without a target, a direction; it is met when its target is met or, without a
-- target, when its colour is green. Thresholds come from core.goal_plan.
CREATE OR REPLACE VIEW mart.goal_summary AS
WITH goal_size AS (
    SELECT plan_id, goal_id, count(*) AS indicators
    FROM core.goal_indicator
    GROUP BY plan_id, goal_id
),

indicator_result AS (
    SELECT
        s.*,
        gi.target_kind,
        s.value IS NOT NULL
            AND (s.target_met IS NOT NULL OR (gi.target_kind IS NULL AND s.direction IS NOT NULL))
            AS is_assessed,
        CASE WHEN gi.target_kind IS NULL THEN s.colour = 'green' ELSE s.target_met END AS is_met
    FROM mart.goal_indicator_status AS s
    JOIN core.goal_indicator AS gi USING (plan_id, goal_id, indicator_id)
),

counted AS (
    SELECT
        plan_id,
        goal_id,
        municipality_id,
        municipality_name,
        year,
        count(value) AS with_value,
        count(*) FILTER (WHERE colour = 'green') AS green,
        count(*) FILTER (WHERE colour = 'yellow') AS yellow,
        count(*) FILTER (WHERE colour = 'red') AS red,
        count(*) FILTER (WHERE target_met) AS targets_met,
        count(*) FILTER (WHERE NOT target_met) AS targets_missed,
        count(*) FILTER (WHERE is_assessed) AS assessed,
        count(*) FILTER (WHERE is_assessed AND is_met) AS met
    FROM indicator_result
    GROUP BY plan_id, goal_id, municipality_id, municipality_name, year
)

SELECT
    c.plan_id,
    c.goal_id,
    g.title AS goal_title,
    c.municipality_id,
    c.municipality_name,
    c.year,
    n.indicators,
    c.with_value,
    c.green,
    c.yellow,
    c.red,
    n.indicators - c.green - c.yellow - c.red AS grey,
    c.targets_met,
    c.targets_missed,
    c.assessed,
    c.met,
    c.met / nullif(c.assessed, 0) AS met_share,
    CASE
        WHEN c.with_value < p.status_min_coverage * n.indicators OR c.assessed = 0
            THEN 'underlag saknas'
        WHEN c.met / c.assessed >= p.status_met_share THEN 'uppfyllt'
        WHEN c.met / c.assessed >= p.status_partly_share THEN 'delvis uppfyllt'
        ELSE 'ej uppfyllt'
    END AS status
FROM counted AS c
JOIN goal_size AS n USING (plan_id, goal_id)
JOIN core.goal AS g USING (plan_id, goal_id)
JOIN core.goal_plan AS p USING (plan_id);

COMMENT ON VIEW mart.goal_summary IS
    'Per plan, goal, area and year: how many indicators have a value, their colours, targets met, and the goal''s status.';
COMMENT ON COLUMN mart.goal_summary.plan_id IS 'Goal plan id (core.goal_plan).';
COMMENT ON COLUMN mart.goal_summary.goal_id IS 'Goal id within the plan.';
COMMENT ON COLUMN mart.goal_summary.goal_title IS 'Goal title.';
COMMENT ON COLUMN mart.goal_summary.municipality_id IS 'Area code, four digits (Kolada''s codes).';
COMMENT ON COLUMN mart.goal_summary.municipality_name IS 'Area name from Kolada.';
COMMENT ON COLUMN mart.goal_summary.year IS 'Year.';
COMMENT ON COLUMN mart.goal_summary.indicators IS 'Number of indicators in the goal.';
COMMENT ON COLUMN mart.goal_summary.with_value IS 'Indicators with a comparable value this year.';
COMMENT ON COLUMN mart.goal_summary.green IS 'Indicators coloured green (best quarter).';
COMMENT ON COLUMN mart.goal_summary.yellow IS 'Indicators coloured yellow.';
COMMENT ON COLUMN mart.goal_summary.red IS 'Indicators coloured red (worst quarter).';
COMMENT ON COLUMN mart.goal_summary.grey IS 'Indicators without a colour: no value, no direction, or fewer than 4 ranked areas.';
COMMENT ON COLUMN mart.goal_summary.targets_met IS 'Indicators whose target is met.';
COMMENT ON COLUMN mart.goal_summary.targets_missed IS 'Indicators whose target is not met.';
COMMENT ON COLUMN mart.goal_summary.assessed IS 'Indicators with a value and either a target that could be judged or, without a target, a direction.';
COMMENT ON COLUMN mart.goal_summary.met IS 'Assessed indicators whose target is met or, without a target, that are green.';
COMMENT ON COLUMN mart.goal_summary.met_share IS 'met / assessed (null when nothing is assessed).';
COMMENT ON COLUMN mart.goal_summary.status IS 'uppfyllt, delvis uppfyllt or ej uppfyllt by the plan''s met and partly shares of assessed indicators; underlag saknas when fewer than the plan''s min coverage of indicators have a value, or none is assessed.';
