-- The rows of mart.goal_indicator_status_base: one per plan, goal, indicator, area and year.
-- warehouse/migrations.py runs it after every load that changed data, for the indicators
-- numbered $first_ikey to $last_ikey at a time (so its memory does not grow with the
-- plans), and creates the table from it: the columns are stated once, in the final
-- SELECT below, and the view adds only the attribution.
--
-- Areas: every kommun (or every region when the plan's municipality is a region), and the
-- plan's own area. Every area gets its own comparisons: its own county, and its own
-- -- comparison group (see plan_family) or the plan's group without itself. Years: the plan's
-- years, the year before them, and any other year the series has a value. A value is the total (gender T), not deleted; values before the
-- indicator's from_year are not comparable: those rows stay, with null values and an
-- unavailable_reason.
--
-- Each value is read from core.observation once, and the heavy joins carry a small
-- integer key per indicator, not its text columns, which are joined in at the end.
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

numbered_indicator AS (
    SELECT
        -- A small integer key per plan indicator keeps the wide joins and the sort narrow.
        row_number() OVER (ORDER BY gi.plan_id, gi.goal_id, gi.indicator_id)::INTEGER AS ikey,
        gi.*,
        p.municipality_id AS plan_municipality_id,
        p.county_id,
        p.first_year,
        p.last_year,
        coalesce(gi.comparison_group_id, p.default_group_id) AS peer_group_id,
        coalesce(gi.title, k.title, s.title, gi.series_id) AS kpi_title,
        -- A series states its unit; a Kolada title mostly ends with it ("…, andel (%)"),
        -- but not always ("…, ny definition"): only a last part naming a unit is taken.
        coalesce(
            s.unit,
            CASE WHEN regexp_matches(
                regexp_extract(k.title, ',\s*([^,]+)$', 1),
                '(andel|antal|procent|%|kr|index|ton|poäng|dagar|timmar|minuter|genomsnitt|medelvärde)'
            ) THEN regexp_extract(k.title, ',\s*([^,]+)$', 1) END
        ) AS unit
    FROM core.goal_indicator AS gi
    JOIN plan AS p USING (plan_id)
    LEFT JOIN core.kpi AS k ON k.id = gi.series_id
    LEFT JOIN core.series AS s ON s.series_id = gi.series_id
),

indicator AS (
    -- $plan_id: one plan's indicators (the as-of macros' plan_filter), null: every plan's.
    SELECT * FROM numbered_indicator
    WHERE ikey BETWEEN $first_ikey AND $last_ikey
        AND ($plan_id::VARCHAR IS NULL OR plan_id = $plan_id::VARCHAR)
),

area AS (
    SELECT
        a.plan_id,
        a.municipality_id,
        m.title AS municipality_name,
        -- A kommun's county is the region of its first two digits (1280 Malmö: 0012
        -- Region Skåne); the plan may name its own area's county.
        CASE
            WHEN a.municipality_id = p.municipality_id AND p.county_id IS NOT NULL
                THEN p.county_id
            WHEN m.type = 'K' THEN c.id
        END AS county_id
    FROM (
        SELECT p.plan_id, m.id AS municipality_id
        FROM plan AS p
        JOIN core.municipality AS m
            ON m.type = CASE WHEN p.is_region_plan THEN 'L' ELSE 'K' END
            AND m.id <> (SELECT id FROM riket)
        UNION
        SELECT plan_id, municipality_id FROM plan
    ) AS a
    JOIN plan AS p USING (plan_id)
    LEFT JOIN core.municipality AS m ON m.id = a.municipality_id
    LEFT JOIN core.municipality AS c
        ON c.type = 'L' AND c.id = '00' || left(a.municipality_id, 2)
        AND c.id <> (SELECT id FROM riket)
),

-- Kolada publishes "Liknande kommuner …" groups per kommun, one per kind and vintage
-- ("Liknande kommuner grundskola, Vallentuna, 2024"). Such a group's title with its
-- area's name taken out is the family's pattern: every area is compared with the group
-- of the same family that bears its own name. Only the plans' groups are looked at.
plan_family AS (
    SELECT DISTINCT g.id AS group_id, replace(g.title, ', ' || m.title || ', ', ', {area}, ') AS pattern
    FROM core.municipality_group AS g
    JOIN core.municipality AS m
        ON g.title LIKE 'Liknande %' AND contains(g.title, ', ' || m.title || ', ')
    WHERE g.id IN (SELECT peer_group_id FROM indicator)
),

family_group AS (
    SELECT f.group_id AS plan_group_id, m.id AS municipality_id, own.id AS own_group_id
    FROM plan_family AS f
    CROSS JOIN core.municipality AS m
    JOIN core.municipality_group AS own ON own.title = replace(f.pattern, '{area}', m.title)
),

indicator_area AS MATERIALIZED (
    SELECT
        i.ikey,
        a.municipality_id,
        a.county_id,
        -- The area's own group of the plan group's family, else the plan's group itself
        -- (whose mean then leaves the area out); null where the family has none for it.
        CASE WHEN f.group_id IS NULL THEN i.peer_group_id ELSE fg.own_group_id END AS peer_group_id
    FROM indicator AS i
    JOIN area AS a USING (plan_id)
    LEFT JOIN plan_family AS f ON f.group_id = i.peer_group_id
    LEFT JOIN family_group AS fg
        ON fg.plan_group_id = i.peer_group_id AND fg.municipality_id = a.municipality_id
),

-- Every value of every plan indicator, read once.
series_value AS (
    SELECT
        i.ikey,
        o.municipality_id,
        o.year,
        o.value,
        o.source,
        o.year >= coalesce(i.from_year, o.year) AS comparable
    FROM indicator AS i
    JOIN core.observation AS o ON o.series_id = i.series_id
    WHERE o.gender = 'T' AND NOT o.is_deleted AND o.value IS NOT NULL
),

indicator_value AS MATERIALIZED (
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

-- Riket's and every county's values, per indicator and year (joined on plain columns:
-- a subquery in a join condition would make DuckDB compare every pair of rows).
riket_value AS (
    SELECT v.ikey, v.year, v.value
    FROM indicator_value AS v
    JOIN riket ON riket.id = v.municipality_id
),

county_value AS (
    SELECT ikey, municipality_id, year, value
    FROM indicator_value
    WHERE municipality_id IN (SELECT county_id FROM area)
),

-- Each comparison group's members with a value, per indicator and year: their sum and
-- count, so that a member's "mean without itself" is (sum - own) / (count - 1).
peer_group AS MATERIALIZED (
    SELECT DISTINCT ikey, peer_group_id FROM indicator_area WHERE peer_group_id IS NOT NULL
),

group_size AS (
    SELECT group_id, count(*) AS members
    FROM core.municipality_group_member
    WHERE group_id IN (SELECT peer_group_id FROM peer_group)
    GROUP BY group_id
),

-- When each group's membership last changed (a member joined or left), as known at the
-- moment the mart describes: now() here, the moment asked for in the as-of macros
-- (warehouse/as_of.py reads now() as known_at). Peer values use the members valid then.
membership_since AS (
    SELECT
        group_id,
        max(greatest(valid_from, CASE WHEN valid_to <= now() THEN valid_to END))
            AS members_since
    FROM core.municipality_group_member_history
    WHERE group_id IN (SELECT peer_group_id FROM peer_group) AND valid_from <= now()
    GROUP BY group_id
),

peer_member AS MATERIALIZED (
    SELECT pg.ikey, pg.peer_group_id, gm.member_id
    FROM peer_group AS pg
    JOIN core.municipality_group_member AS gm ON gm.group_id = pg.peer_group_id
),

peer_sum AS (
    SELECT pm.ikey, pm.peer_group_id, v.year, sum(v.value) AS total, count(*) AS valued
    FROM peer_member AS pm
    JOIN indicator_value AS v ON v.ikey = pm.ikey AND v.municipality_id = pm.member_id
    GROUP BY pm.ikey, pm.peer_group_id, v.year
),

-- The plan's areas' values, ranked among the areas with a value that year: 1 = best in
-- the indicator's direction; RANK() gives ties one rank and skips the next (1, 2, 2, 4).
area_value AS MATERIALIZED (
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
        r.value AS riket_value,
        c.value AS county_value,
        a.county_id,
        a.peer_group_id,
        -- The group's unweighted mean (as Kolada computes a group's value), leaving out
        -- the area itself where it is a member with a value (its own value is av's).
        -- Rounded to 9 decimals: a sum's last bits depend on the order DuckDB's threads
        -- add in, and a target "at least the peers" must not flip on them.
        round(
            (ps.total - coalesce(own_value, 0))
            / nullif(ps.valued - (own_value IS NOT NULL)::INTEGER, 0),
            9
        ) AS peer_value,
        ps.valued - (own_value IS NOT NULL)::INTEGER AS peer_valued,
        gs.members - (gm.member_id IS NOT NULL)::INTEGER AS peer_members,
        ms.members_since AS peer_members_since,
        gm.member_id IS NOT NULL AS peer_without_self,
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
    LEFT JOIN riket_value AS r ON r.ikey = y.ikey AND r.year = y.year
    LEFT JOIN county_value AS c
        ON c.ikey = y.ikey AND c.year = y.year AND c.municipality_id = a.county_id
    LEFT JOIN peer_sum AS ps
        ON ps.ikey = y.ikey AND ps.year = y.year AND ps.peer_group_id = a.peer_group_id
    LEFT JOIN group_size AS gs ON gs.group_id = a.peer_group_id
    LEFT JOIN membership_since AS ms ON ms.group_id = a.peer_group_id
    LEFT JOIN core.municipality_group_member AS gm
        ON gm.group_id = a.peer_group_id AND gm.member_id = a.municipality_id
    CROSS JOIN LATERAL (SELECT CASE WHEN gm.member_id IS NOT NULL THEN av.value END AS own_value)
    LEFT JOIN ranked_year AS n ON n.ikey = y.ikey AND n.year = y.year
),

described AS (
    SELECT
        i.plan_id,
        i.goal_id,
        i.indicator_id,
        i.kpi_title,
        i.unit,
        x.municipality_id,
        a.municipality_name,
        x.year,
        x.value,
        x.riket_value,
        x.county_id,
        x.county_value,
        x.peer_group_id,
        g.title AS peer_group,
        x.peer_value,
        x.peer_members_since,
        CASE
            WHEN i.peer_group_id IS NULL THEN NULL
            WHEN x.peer_group_id IS NULL
                THEN 'ingen jämförelsegrupp av samma slag för området'
            ELSE 'medel av gruppens medlemmar (ovägt): ' || g.title || ', '
                || coalesce(x.peer_valued, 0) || ' av ' || coalesce(x.peer_members, 0)
                || ' med värde' || CASE WHEN x.peer_without_self THEN ', utan området självt' ELSE '' END
        END AS peer_basis,
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
        -- A plan run on generated sample values is labelled so on every row, whatever
        -- the indicator's source.
        CASE WHEN sample.plan_id IS NOT NULL THEN 'sample' ELSE i.source END AS source,
        coalesce(
            i.unavailable_reason,
            CASE WHEN x.year < i.from_year THEN 'ej jämförbart före ' || i.from_year END
        ) AS unavailable_reason
    FROM ranked AS x
    JOIN indicator AS i USING (ikey)
    JOIN area AS a ON a.plan_id = i.plan_id AND a.municipality_id = x.municipality_id
    LEFT JOIN core.municipality_group AS g ON g.id = x.peer_group_id
    LEFT JOIN (
        SELECT DISTINCT i.plan_id
        FROM series_value AS v
        JOIN indicator AS i USING (ikey)
        WHERE v.source = 'sample'
    ) AS sample ON sample.plan_id = i.plan_id
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
),

judged AS (
    SELECT
        *,
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
        END AS target_met
    FROM coloured
)

SELECT
    plan_id,
    goal_id,
    indicator_id,
    kpi_title,
    unit,
    municipality_id,
    municipality_name,
    year,
    value,
    riket_value,
    county_id,
    county_value,
    peer_group_id,
    peer_group,
    peer_value,
    peer_basis,
    peer_members_since,
    change_from_previous_year,
    rank,
    ranked_count,
    colour,
    CASE colour
        WHEN 'green' THEN 'grön' WHEN 'yellow' THEN 'gul' WHEN 'red' THEN 'röd' ELSE 'grå'
    END AS colour_label,
    direction,
    target_text AS target,
    target_met,
    CASE
        WHEN target_kind IS NULL THEN NULL
        WHEN value IS NULL THEN 'värde saknas'
        WHEN target_met IS NULL THEN 'ej bedömbart'
        WHEN target_met THEN 'uppfyllt'
        ELSE 'ej uppfyllt'
    END AS target_result,
    is_latest,
    source AS source_kind,
    unavailable_reason
FROM judged
