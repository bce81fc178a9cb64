-- mart.goal_summary: en rad per plan, mål, område och år, built on
-- mart.goal_indicator_status (this file is applied after it: files run in name order).
--
-- An indicator is assessed when it has a value and either a target that could be judged
-- or, without a target, a direction; it is met when its target is met or, without a
-- target, when its colour is green. A goal's status rests on its assessed indicators,
-- and only when they are at least the plan's min coverage of its indicators: the same
-- rule for every area, so no area's goal is called "ej uppfyllt" on a fraction of it.
-- Thresholds come from core.goal_plan.
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
        count(*) FILTER (WHERE target_result = 'ej bedömbart') AS targets_not_assessable,
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
    c.targets_not_assessable,
    c.assessed,
    c.met,
    c.met / nullif(c.assessed, 0) AS met_share,
    c.assessed / n.indicators AS coverage,
    CASE
        WHEN c.assessed = 0 OR c.assessed < p.status_min_coverage * n.indicators
            THEN 'underlag saknas'
        WHEN c.met / c.assessed >= p.status_met_share THEN 'uppfyllt'
        WHEN c.met / c.assessed >= p.status_partly_share THEN 'delvis uppfyllt'
        ELSE 'ej uppfyllt'
    END AS status,
    'bedömt på ' || c.assessed || ' av ' || n.indicators || ' indikatorer' AS status_basis
FROM counted AS c
JOIN goal_size AS n USING (plan_id, goal_id)
JOIN core.goal AS g USING (plan_id, goal_id)
JOIN core.goal_plan AS p USING (plan_id);

COMMENT ON VIEW mart.goal_summary IS
    'Per plan, mål, område och år: hur många indikatorer som har värde, deras färger, nådda målvärden och målets status. '
    '(Per plan, goal, area and year: indicators with a value, colours, targets met, and the goal''s status.)';
COMMENT ON COLUMN mart.goal_summary.plan_id IS 'Målplanens id (core.goal_plan).';
COMMENT ON COLUMN mart.goal_summary.goal_id IS 'Målets id i planen.';
COMMENT ON COLUMN mart.goal_summary.goal_title IS 'Målets namn.';
COMMENT ON COLUMN mart.goal_summary.municipality_id IS 'Områdets kod, fyra siffror (Koladas koder).';
COMMENT ON COLUMN mart.goal_summary.municipality_name IS 'Områdets namn enligt Kolada.';
COMMENT ON COLUMN mart.goal_summary.year IS 'År.';
COMMENT ON COLUMN mart.goal_summary.indicators IS 'Antal indikatorer i målet.';
COMMENT ON COLUMN mart.goal_summary.with_value IS 'Indikatorer med jämförbart värde detta år.';
COMMENT ON COLUMN mart.goal_summary.green IS 'Indikatorer med färgen grön (bästa fjärdedelen).';
COMMENT ON COLUMN mart.goal_summary.yellow IS 'Indikatorer med färgen gul.';
COMMENT ON COLUMN mart.goal_summary.red IS 'Indikatorer med färgen röd (sämsta fjärdedelen).';
COMMENT ON COLUMN mart.goal_summary.grey IS 'Indikatorer utan färg: utan värde, utan riktning eller med färre än 4 rangordnade.';
COMMENT ON COLUMN mart.goal_summary.targets_met IS 'Indikatorer vars målvärde nås.';
COMMENT ON COLUMN mart.goal_summary.targets_missed IS 'Indikatorer vars målvärde inte nås.';
COMMENT ON COLUMN mart.goal_summary.targets_not_assessable IS 'Indikatorer med värde vars målvärde inte kan bedömas (jämförelsevärdet saknas, t.ex. ingen jämförelsegrupp).';
COMMENT ON COLUMN mart.goal_summary.assessed IS 'Bedömda indikatorer: med värde och antingen ett målvärde som kunde bedömas eller, utan målvärde, en riktning.';
COMMENT ON COLUMN mart.goal_summary.met IS 'Bedömda indikatorer vars målvärde nås eller, utan målvärde, som är gröna.';
COMMENT ON COLUMN mart.goal_summary.met_share IS 'met / assessed (tomt när inget är bedömt).';
COMMENT ON COLUMN mart.goal_summary.coverage IS 'assessed / indicators: hur stor del av målet statusen vilar på.';
COMMENT ON COLUMN mart.goal_summary.status IS 'uppfyllt, delvis uppfyllt eller ej uppfyllt efter planens andelar av bedömda indikatorer; underlag saknas när färre än planens min coverage av indikatorerna är bedömda.';
COMMENT ON COLUMN mart.goal_summary.status_basis IS 'Hur många av målets indikatorer statusen vilar på, i ord.';
