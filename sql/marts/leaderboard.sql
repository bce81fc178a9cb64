-- mart.leaderboard: every area's goal statuses on a plan, ranked (applied after
-- goal_summary: files run in name order).
--
-- Per plan, area and year: how many of the plan's goals are uppfyllt, delvis uppfyllt,
-- ej uppfyllt or without basis, and the share of assessed indicators met over all goals.
-- Areas are ranked on that share among those whose every goal has a status; the others
-- are listed with their coverage but not ranked, so a thin basis never ranks high.
CREATE OR REPLACE VIEW mart.leaderboard AS
WITH per_area AS (
    SELECT
        plan_id,
        municipality_id,
        municipality_name,
        year,
        count(*) AS goals,
        count(*) FILTER (WHERE status = 'uppfyllt') AS goals_met,
        count(*) FILTER (WHERE status = 'delvis uppfyllt') AS goals_partly_met,
        count(*) FILTER (WHERE status = 'ej uppfyllt') AS goals_not_met,
        count(*) FILTER (WHERE status = 'underlag saknas') AS goals_without_basis,
        sum(assessed)::BIGINT AS indicators_assessed,
        sum(indicators)::BIGINT AS indicators,
        sum(met)::BIGINT AS indicators_met
    FROM mart.goal_summary
    GROUP BY plan_id, municipality_id, municipality_name, year
)

SELECT
    plan_id,
    municipality_id,
    municipality_name,
    year,
    CASE WHEN goals_without_basis = 0 THEN rank() OVER (
        PARTITION BY plan_id, year, goals_without_basis = 0
        ORDER BY indicators_met / nullif(indicators_assessed, 0) DESC
    ) END AS rank,
    count(*) FILTER (WHERE goals_without_basis = 0) OVER (PARTITION BY plan_id, year)
        AS ranked_count,
    goals,
    goals_met,
    goals_partly_met,
    goals_not_met,
    goals_without_basis,
    indicators_met / nullif(indicators_assessed, 0) AS met_share,
    indicators_assessed,
    indicators,
    indicators_assessed / indicators AS coverage
FROM per_area;

COMMENT ON VIEW mart.leaderboard IS
    'Topplista: varje områdes målstatus i en plan, per år, rangordnad efter andelen nådda bedömda indikatorer bland områden där alla mål har underlag. '
    '(Every area''s goal statuses on a plan, ranked.)';
COMMENT ON COLUMN mart.leaderboard.plan_id IS 'Målplanens id.';
COMMENT ON COLUMN mart.leaderboard.municipality_id IS 'Områdets kod.';
COMMENT ON COLUMN mart.leaderboard.municipality_name IS 'Områdets namn.';
COMMENT ON COLUMN mart.leaderboard.year IS 'År.';
COMMENT ON COLUMN mart.leaderboard.rank IS 'Rang på met_share (1 = bäst, lika delar rang) bland områden där alla mål har underlag; tomt annars.';
COMMENT ON COLUMN mart.leaderboard.ranked_count IS 'Antal rangordnade områden i planen det året.';
COMMENT ON COLUMN mart.leaderboard.goals IS 'Antal mål i planen.';
COMMENT ON COLUMN mart.leaderboard.goals_met IS 'Mål med status uppfyllt.';
COMMENT ON COLUMN mart.leaderboard.goals_partly_met IS 'Mål med status delvis uppfyllt.';
COMMENT ON COLUMN mart.leaderboard.goals_not_met IS 'Mål med status ej uppfyllt.';
COMMENT ON COLUMN mart.leaderboard.goals_without_basis IS 'Mål med status underlag saknas.';
COMMENT ON COLUMN mart.leaderboard.met_share IS 'Nådda av bedömda indikatorer, över alla mål.';
COMMENT ON COLUMN mart.leaderboard.indicators_assessed IS 'Bedömda indikatorer, över alla mål.';
COMMENT ON COLUMN mart.leaderboard.indicators IS 'Indikatorer i planen (per mål räknat).';
COMMENT ON COLUMN mart.leaderboard.coverage IS 'indicators_assessed / indicators: hur stor del av planen rangen vilar på.';
