-- mart.goal_indicator_status: one row per plan, goal, indicator, area and year.
--
-- Areas: every kommun (or every region when the plan's municipality is a region),
-- not only the plan's own, so analysts can rank and compare.
-- Years: the plan's years, the year before them, and any other year the series has a value.
-- A value is the total (gender T), not deleted; values before the indicator's from_year
-- are not comparable: those rows stay, with null values and an unavailable_reason.
CREATE OR REPLACE VIEW mart.goal_indicator_status AS
WITH plan AS (
    SELECT
        p.*,
        coalesce(m.type = 'L' AND m.id <> '0000', false) AS is_region_plan
    FROM core.goal_plan AS p
    LEFT JOIN core.municipality AS m ON m.id = p.municipality_id
),

indicator AS (
    SELECT
        gi.*,
        p.municipality_id AS plan_municipality_id,
        p.county_id,
        p.first_year,
        p.last_year,
        coalesce(gi.comparison_group_id, p.default_group_id) AS peer_group_id,
        coalesce(gi.title, k.title, s.title, gi.series_id) AS kpi_title
    FROM core.goal_indicator AS gi
    JOIN plan AS p USING (plan_id)
    LEFT JOIN core.kpi AS k ON k.id = gi.series_id
    LEFT JOIN core.series AS s ON s.series_id = gi.series_id
),

series_value AS (
    SELECT o.series_id, o.municipality_id, o.year, o.value
    FROM core.observation AS o
    WHERE o.gender = 'T'
        AND NOT o.is_deleted
        AND o.value IS NOT NULL
        AND o.series_id IN (SELECT series_id FROM core.goal_indicator)
),

-- Comparable values per indicator: from the indicator's from_year on.
indicator_value AS (
    SELECT i.plan_id, i.goal_id, i.indicator_id, v.municipality_id, v.year, v.value
    FROM indicator AS i
    JOIN series_value AS v ON v.series_id = i.series_id
    WHERE v.year >= coalesce(i.from_year, v.year)
),

area AS (
    SELECT p.plan_id, m.id AS municipality_id, m.title AS municipality_name
    FROM plan AS p
    JOIN core.municipality AS m
        ON CASE WHEN p.is_region_plan THEN m.type = 'L' AND m.id <> '0000' ELSE m.type = 'K' END
    UNION
    SELECT p.plan_id, p.municipality_id, m.title
    FROM plan AS p
    LEFT JOIN core.municipality AS m ON m.id = p.municipality_id
),

indicator_year AS (
    SELECT plan_id, goal_id, indicator_id, unnest(range(first_year - 1, last_year + 1))::INTEGER AS year
    FROM indicator
    UNION
    SELECT DISTINCT i.plan_id, i.goal_id, i.indicator_id, v.year
    FROM indicator AS i
    JOIN series_value AS v ON v.series_id = i.series_id
),

-- Unweighted mean of the comparison group's members, as Kolada computes a group's value.
peer AS (
    SELECT
        i.plan_id,
        i.goal_id,
        i.indicator_id,
        v.year,
        avg(v.value) AS peer_value,
        'medel av gruppens medlemmar (ovägt): ' || coalesce(any_value(g.title), i.peer_group_id)
            || ', ' || count(*) || ' av ' || any_value(gs.members) || ' med värde' AS peer_basis
    FROM indicator AS i
    JOIN core.municipality_group_member AS gm ON gm.group_id = i.peer_group_id
    JOIN indicator_value AS v
        ON v.plan_id = i.plan_id
        AND v.goal_id = i.goal_id
        AND v.indicator_id = i.indicator_id
        AND v.municipality_id = gm.member_id
    LEFT JOIN core.municipality_group AS g ON g.id = i.peer_group_id
    LEFT JOIN (
        SELECT group_id, count(*) AS members FROM core.municipality_group_member GROUP BY group_id
    ) AS gs ON gs.group_id = i.peer_group_id
    GROUP BY i.plan_id, i.goal_id, i.indicator_id, i.peer_group_id, v.year
),

-- Ranks among the plan's areas with a value; RANK() gives ties one rank and skips the
-- next (1, 2, 2, 4).
ranking AS (
    SELECT
        v.plan_id,
        v.goal_id,
        v.indicator_id,
        v.municipality_id,
        v.year,
        rank() OVER (
            PARTITION BY v.plan_id, v.goal_id, v.indicator_id, v.year
            ORDER BY CASE i.direction WHEN 'higher' THEN -v.value ELSE v.value END
        ) AS rank,
        count(*) OVER (PARTITION BY v.plan_id, v.goal_id, v.indicator_id, v.year) AS ranked_count
    FROM indicator_value AS v
    JOIN indicator AS i USING (plan_id, goal_id, indicator_id)
    JOIN area AS a ON a.plan_id = v.plan_id AND a.municipality_id = v.municipality_id
    WHERE i.direction IS NOT NULL
),

ranked_year AS (
    SELECT plan_id, goal_id, indicator_id, year, max(ranked_count) AS ranked_count
    FROM ranking
    GROUP BY plan_id, goal_id, indicator_id, year
),

latest AS (
    SELECT plan_id, goal_id, indicator_id, municipality_id, max(year) AS latest_year
    FROM indicator_value
    GROUP BY plan_id, goal_id, indicator_id, municipality_id
),

ranked AS (
    SELECT
        i.plan_id,
        i.goal_id,
        i.indicator_id,
        i.kpi_title,
        a.municipality_id,
        a.municipality_name,
        y.year,
        v.value,
        r.value AS riket_value,
        c.value AS county_value,
        CASE WHEN a.municipality_id = i.plan_municipality_id THEN p.peer_value END AS peer_value,
        CASE WHEN a.municipality_id = i.plan_municipality_id THEN p.peer_basis END AS peer_basis,
        v.value - pv.value AS change_from_previous_year,
        rk.rank,
        CASE WHEN i.direction IS NOT NULL THEN coalesce(n.ranked_count, 0) END AS ranked_count,
        y.year = l.latest_year AS is_latest,
        i.direction,
        i.target_kind,
        i.target_operator,
        i.target_value,
        i.target_reference,
        i.target_colour,
        i.target_text,
        i.source,
        coalesce(
            i.unavailable_reason,
            CASE WHEN y.year < i.from_year THEN 'ej jämförbart före ' || i.from_year END
        ) AS unavailable_reason
    FROM indicator_year AS y
    JOIN indicator AS i USING (plan_id, goal_id, indicator_id)
    JOIN area AS a ON a.plan_id = y.plan_id
    LEFT JOIN indicator_value AS v
        ON v.plan_id = y.plan_id AND v.goal_id = y.goal_id AND v.indicator_id = y.indicator_id
        AND v.year = y.year AND v.municipality_id = a.municipality_id
    LEFT JOIN indicator_value AS pv
        ON pv.plan_id = y.plan_id AND pv.goal_id = y.goal_id AND pv.indicator_id = y.indicator_id
        AND pv.year = y.year - 1 AND pv.municipality_id = a.municipality_id
    LEFT JOIN indicator_value AS r
        ON r.plan_id = y.plan_id AND r.goal_id = y.goal_id AND r.indicator_id = y.indicator_id
        AND r.year = y.year AND r.municipality_id = '0000'
    LEFT JOIN indicator_value AS c
        ON c.plan_id = y.plan_id AND c.goal_id = y.goal_id AND c.indicator_id = y.indicator_id
        AND c.year = y.year AND c.municipality_id = i.county_id
    LEFT JOIN peer AS p
        ON p.plan_id = y.plan_id AND p.goal_id = y.goal_id AND p.indicator_id = y.indicator_id
        AND p.year = y.year
    LEFT JOIN ranking AS rk
        ON rk.plan_id = y.plan_id AND rk.goal_id = y.goal_id AND rk.indicator_id = y.indicator_id
        AND rk.year = y.year AND rk.municipality_id = a.municipality_id
    LEFT JOIN ranked_year AS n
        ON n.plan_id = y.plan_id AND n.goal_id = y.goal_id AND n.indicator_id = y.indicator_id
        AND n.year = y.year
    LEFT JOIN latest AS l
        ON l.plan_id = y.plan_id AND l.goal_id = y.goal_id AND l.indicator_id = y.indicator_id
        AND l.municipality_id = a.municipality_id
),

coloured AS (
    SELECT
        *,
        CASE
            WHEN rank IS NULL OR ranked_count < 4 THEN 'grey'
            WHEN rank <= ceil(ranked_count / 4) THEN 'green'
            WHEN rank > ranked_count - ceil(ranked_count / 4) THEN 'red'
            ELSE 'yellow'
        END AS colour,
        -- What a value or compare target is checked against, and how.
        CASE target_kind
            WHEN 'value' THEN target_value
            WHEN 'compare' THEN CASE target_reference
                WHEN 'riket' THEN riket_value
                WHEN 'county' THEN county_value
                WHEN 'peers' THEN peer_value
            END
        END AS target_reference_value,
        -- The plan's operator, else better-or-equal in the direction.
        CASE WHEN target_kind IN ('value', 'compare') THEN coalesce(
            target_operator, CASE direction WHEN 'higher' THEN '>=' WHEN 'lower' THEN '<=' END
        ) END AS target_test
    FROM ranked
)

SELECT
    plan_id,
    goal_id,
    indicator_id,
    kpi_title,
    municipality_id,
    municipality_name,
    year,
    value,
    riket_value,
    county_value,
    peer_value,
    peer_basis,
    change_from_previous_year,
    rank,
    ranked_count,
    colour,
    direction,
    target_text AS target,
    CASE
        WHEN value IS NULL THEN NULL
        WHEN target_kind IN ('value', 'compare') THEN CASE target_test
            WHEN '>=' THEN value >= target_reference_value
            WHEN '>' THEN value > target_reference_value
            WHEN '<=' THEN value <= target_reference_value
            WHEN '<' THEN value < target_reference_value
            WHEN '=' THEN value = target_reference_value
            WHEN '==' THEN value = target_reference_value
        END
        WHEN target_kind = 'rank' THEN rank <= target_value
        WHEN target_kind = 'colour' AND colour <> 'grey' THEN CASE target_colour
            WHEN 'green' THEN colour = 'green'
            WHEN 'yellow' THEN colour IN ('green', 'yellow')
        END
    END AS target_met,
    coalesce(is_latest, false) AS is_latest,
    CASE
        WHEN EXISTS (SELECT 1 FROM core.warehouse_info WHERE key = 'sample_data')
            THEN 'Exempeldata: genererade värden, inte statistik'
        WHEN source = 'kolada' THEN 'Källa: Kolada'
        WHEN source = 'scb' THEN 'Källa: SCB'
        WHEN source = 'derived' THEN 'Egen bearbetning av data från SCB'
    END AS source,
    unavailable_reason
FROM coloured;

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
