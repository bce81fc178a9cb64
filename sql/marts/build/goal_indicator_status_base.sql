-- Rebuilds mart.goal_indicator_status_base: one row per plan, goal, indicator, area and year.
-- Run after every load that changed data (warehouse/load.py). The columns are stated once,
-- in the final SELECT below: the table takes them, and the view adds only the attribution.
--
-- Areas: every kommun (or every region when the plan's municipality is a region), and the
-- plan's own area. Years: the plan's years, the year before them, and any other year the
-- series has a value. A value is the total (gender T), not deleted; values before the
-- indicator's from_year are not comparable: those rows stay, with null values and an
-- unavailable_reason.
--
-- Each value is read from core.observation once, and the heavy joins carry a small
-- integer key per indicator, not its text columns, which are joined in at the end.
CREATE OR REPLACE TABLE mart.goal_indicator_status_base AS
WITH riket AS (
    -- Riket's area code, as transforms/rules.py states it (written with the views).
    SELECT value AS id FROM core.warehouse_info WHERE key = 'riket_id'
),

plan AS (
    SELECT
        p.*,
        coalesce(m.type = 'L' AND m.id <> (SELECT id FROM riket), false) AS is_region_plan
    FROM core.goal_plan AS p
    LEFT JOIN core.municipality AS m ON m.id = p.municipality_id
),

indicator AS (
    SELECT
        -- A small integer key per plan indicator keeps the wide joins and the sort narrow.
        row_number() OVER (ORDER BY gi.plan_id, gi.goal_id, gi.indicator_id)::INTEGER AS ikey,
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

area AS (
    SELECT p.plan_id, m.id AS municipality_id, m.title AS municipality_name
    FROM plan AS p
    JOIN core.municipality AS m
        ON m.type = CASE WHEN p.is_region_plan THEN 'L' ELSE 'K' END
        AND m.id <> (SELECT id FROM riket)
    UNION
    SELECT p.plan_id, p.municipality_id, m.title
    FROM plan AS p
    LEFT JOIN core.municipality AS m ON m.id = p.municipality_id
),

indicator_area AS (
    SELECT i.ikey, a.municipality_id
    FROM indicator AS i
    JOIN area AS a USING (plan_id)
),

-- Every value of every plan indicator, read once.
series_value AS (
    SELECT
        i.ikey,
        o.municipality_id,
        o.year,
        o.value,
        o.year >= coalesce(i.from_year, o.year) AS comparable
    FROM indicator AS i
    JOIN core.observation AS o ON o.series_id = i.series_id
    WHERE o.gender = 'T' AND NOT o.is_deleted AND o.value IS NOT NULL
),

indicator_value AS (
    SELECT ikey, municipality_id, year, value
    FROM series_value
    WHERE comparable
),

indicator_year AS (
    SELECT ikey, unnest(range(first_year - 1, last_year + 1))::INTEGER AS year
    FROM indicator
    UNION
    SELECT DISTINCT ikey, year
    FROM series_value
),

-- Riket's and the county's values, per indicator and year.
reference AS (
    SELECT
        v.ikey,
        v.year,
        any_value(v.value) FILTER (WHERE v.municipality_id = (SELECT id FROM riket)) AS riket_value,
        any_value(v.value) FILTER (WHERE v.municipality_id = i.county_id) AS county_value
    FROM indicator_value AS v
    JOIN indicator AS i USING (ikey)
    WHERE v.municipality_id = (SELECT id FROM riket) OR v.municipality_id = i.county_id
    GROUP BY v.ikey, v.year
),

-- Unweighted mean of the comparison group's members, as Kolada computes a group's value.
peer AS (
    SELECT
        i.ikey,
        v.year,
        avg(v.value) AS peer_value,
        'medel av gruppens medlemmar (ovägt): ' || coalesce(any_value(g.title), i.peer_group_id)
            || ', ' || count(*) || ' av ' || any_value(gs.members) || ' med värde' AS peer_basis
    FROM indicator AS i
    JOIN core.municipality_group_member AS gm ON gm.group_id = i.peer_group_id
    JOIN indicator_value AS v ON v.ikey = i.ikey AND v.municipality_id = gm.member_id
    LEFT JOIN core.municipality_group AS g ON g.id = i.peer_group_id
    LEFT JOIN (
        SELECT group_id, count(*) AS members FROM core.municipality_group_member GROUP BY group_id
    ) AS gs ON gs.group_id = i.peer_group_id
    GROUP BY i.ikey, i.peer_group_id, v.year
),

-- The plan's areas' values, ranked among the areas with a value that year: 1 = best in
-- the indicator's direction; RANK() gives ties one rank and skips the next (1, 2, 2, 4).
area_value AS (
    SELECT
        v.ikey,
        v.municipality_id,
        v.year,
        v.value,
        CASE WHEN i.direction IS NOT NULL THEN rank() OVER (
            PARTITION BY v.ikey, v.year
            ORDER BY CASE i.direction WHEN 'higher' THEN -v.value ELSE v.value END
        ) END AS rank
    FROM indicator_value AS v
    JOIN indicator_area AS a USING (ikey, municipality_id)
    JOIN indicator AS i USING (ikey)
),

ranked_year AS (
    SELECT ikey, year, count(*) AS ranked_count
    FROM area_value
    GROUP BY ikey, year
),

latest AS (
    SELECT ikey, municipality_id, max(year) AS latest_year
    FROM area_value
    GROUP BY ikey, municipality_id
),

ranked AS (
    SELECT
        y.ikey,
        a.municipality_id,
        y.year,
        av.value,
        r.riket_value,
        r.county_value,
        p.peer_value,
        p.peer_basis,
        av.value - pv.value AS change_from_previous_year,
        av.rank,
        n.ranked_count,
        coalesce(y.year = l.latest_year, false) AS is_latest
    FROM indicator_year AS y
    JOIN indicator_area AS a USING (ikey)
    LEFT JOIN area_value AS av
        ON av.ikey = y.ikey AND av.year = y.year AND av.municipality_id = a.municipality_id
    LEFT JOIN area_value AS pv
        ON pv.ikey = y.ikey AND pv.year = y.year - 1 AND pv.municipality_id = a.municipality_id
    LEFT JOIN latest AS l ON l.ikey = y.ikey AND l.municipality_id = a.municipality_id
    LEFT JOIN reference AS r ON r.ikey = y.ikey AND r.year = y.year
    LEFT JOIN peer AS p ON p.ikey = y.ikey AND p.year = y.year
    LEFT JOIN ranked_year AS n ON n.ikey = y.ikey AND n.year = y.year
),

described AS (
    SELECT
        i.plan_id,
        i.goal_id,
        i.indicator_id,
        i.kpi_title,
        x.municipality_id,
        a.municipality_name,
        x.year,
        x.value,
        x.riket_value,
        x.county_value,
        CASE WHEN x.municipality_id = i.plan_municipality_id THEN x.peer_value END AS peer_value,
        CASE WHEN x.municipality_id = i.plan_municipality_id THEN x.peer_basis END AS peer_basis,
        x.change_from_previous_year,
        x.rank,
        CASE WHEN i.direction IS NOT NULL THEN coalesce(x.ranked_count, 0) END AS ranked_count,
        x.is_latest,
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
            CASE WHEN x.year < i.from_year THEN 'ej jämförbart före ' || i.from_year END
        ) AS unavailable_reason
    FROM ranked AS x
    JOIN indicator AS i USING (ikey)
    JOIN area AS a ON a.plan_id = i.plan_id AND a.municipality_id = x.municipality_id
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
        -- Every value or compare target carries its operator (transforms/goal_plan/rows.py
        -- fills in the default for the direction).
        target_operator AS target_test
    FROM described
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
    is_latest,
    source AS source_kind,
    unavailable_reason
FROM coloured;

COMMENT ON TABLE mart.goal_indicator_status_base IS
    'Materialised body of the view mart.goal_indicator_status, rebuilt by every load. Query the view.';
