-- mart.definition_changes: every change of a KPI's definition and of a comparison
-- group's members that the warehouse has seen, with the plans and goals that use them.
--
-- Kolada reuses KPI ids for new definitions (U07453) and rewords others (N15419), and
-- recomputes its comparison groups every year. A KPI's definition is its title,
-- description, gender split, municipality type, auspice, operating area and
-- perspective; its publication dates change with every publication and are left out.
-- Both versions stay in core.kpi_history and core.municipality_group_member_history.
CREATE OR REPLACE VIEW mart.definition_changes AS
WITH kpi_text AS (
    SELECT
        id, valid_from, run_id, title, description,
        is_divided_by_gender::VARCHAR AS is_divided_by_gender,
        municipality_type, auspice, operating_area, perspective
    FROM core.kpi_history
),

kpi_field AS (
    SELECT *
    FROM kpi_text
    UNPIVOT INCLUDE NULLS (
        value FOR field IN (
            title, description, is_divided_by_gender, municipality_type, auspice,
            operating_area, perspective
        )
    )
),

kpi_change AS (
    SELECT
        'kpi' AS kind,
        id,
        field,
        lag(value) OVER version AS old_value,
        value AS new_value,
        row_number() OVER version AS version,
        valid_from AS changed_at,
        run_id
    FROM kpi_field
    WINDOW version AS (PARTITION BY id, field ORDER BY valid_from)
),

group_start AS (
    SELECT group_id, min(valid_from) AS first_seen
    FROM core.municipality_group_member_history
    GROUP BY group_id
),

member_change AS (
    -- A member that joined a group already known, and one that left it (a new version
    -- of the same member, e.g. a renamed kommun, is neither).
    SELECT
        'group' AS kind,
        h.group_id AS id,
        'member' AS field,
        NULL AS old_value,
        h.member_id || ' ' || coalesce(h.member_title, '') AS new_value,
        h.valid_from AS changed_at,
        h.run_id
    FROM core.municipality_group_member_history AS h
    JOIN group_start AS s USING (group_id)
    WHERE h.valid_from > s.first_seen
        AND NOT EXISTS (
            SELECT 1 FROM core.municipality_group_member_history AS before
            WHERE before.group_id = h.group_id AND before.member_id = h.member_id
                AND before.valid_to = h.valid_from
        )
    UNION ALL
    SELECT
        'group',
        h.group_id,
        'member',
        h.member_id || ' ' || coalesce(h.member_title, ''),
        NULL,
        h.valid_to,
        h.run_id
    FROM core.municipality_group_member_history AS h
    WHERE h.valid_to IS NOT NULL
        AND NOT EXISTS (
            SELECT 1 FROM core.municipality_group_member_history AS after
            WHERE after.group_id = h.group_id AND after.member_id = h.member_id
                AND after.valid_from = h.valid_to
        )
),

changed AS (
    SELECT kind, id, field, old_value, new_value, changed_at, run_id
    FROM kpi_change
    WHERE version > 1 AND old_value IS DISTINCT FROM new_value
    UNION ALL
    SELECT kind, id, field, old_value, new_value, changed_at, run_id
    FROM member_change
),

used AS (
    SELECT 'kpi' AS kind, series_id AS id, plan_id, goal_id FROM core.goal_indicator
    UNION
    SELECT 'group', coalesce(gi.comparison_group_id, p.default_group_id), gi.plan_id, gi.goal_id
    FROM core.goal_indicator AS gi
    JOIN core.goal_plan AS p USING (plan_id)
),

used_by AS (
    SELECT kind, id, string_agg(usage, ', ' ORDER BY usage) AS used_by
    FROM (
        SELECT DISTINCT kind, id, plan_id || ' (' || goal_id || ')' AS usage
        FROM used
        WHERE id IS NOT NULL
    )
    GROUP BY kind, id
)

SELECT
    c.kind,
    c.id,
    coalesce(k.title, g.title) AS title,
    c.field,
    c.old_value,
    c.new_value,
    c.changed_at,
    c.run_id,
    u.used_by
FROM changed AS c
LEFT JOIN used_by AS u USING (kind, id)
LEFT JOIN core.kpi AS k ON c.kind = 'kpi' AND k.id = c.id
LEFT JOIN core.municipality_group AS g ON c.kind = 'group' AND g.id = c.id;

COMMENT ON VIEW mart.definition_changes IS
    'Varje ändring av en KPI:s definition (titel, beskrivning, könsuppdelning …) och av en jämförelsegrupps medlemmar, med planerna och målen som använder dem. '
    '(Every change of a KPI definition or a comparison group''s members, with the plans and goals using them.)';
COMMENT ON COLUMN mart.definition_changes.kind IS 'kpi (en KPI:s definition) eller group (en jämförelsegrupps medlemmar).';
COMMENT ON COLUMN mart.definition_changes.id IS 'KPI:ns eller gruppens id i Kolada.';
COMMENT ON COLUMN mart.definition_changes.title IS 'KPI:ns eller gruppens nuvarande titel.';
COMMENT ON COLUMN mart.definition_changes.field IS 'Vad som ändrades: title, description, is_divided_by_gender, municipality_type, auspice, operating_area, perspective, eller member.';
COMMENT ON COLUMN mart.definition_changes.old_value IS 'Före ändringen (för member: en medlem som lämnade gruppen, id och namn).';
COMMENT ON COLUMN mart.definition_changes.new_value IS 'Efter ändringen (för member: en medlem som kom till).';
COMMENT ON COLUMN mart.definition_changes.changed_at IS 'När lagret fick veta det (körningens laddning).';
COMMENT ON COLUMN mart.definition_changes.run_id IS 'Körningen som hämtade ändringen (för en medlem som lämnade: körningen som hämtat den senast).';
COMMENT ON COLUMN mart.definition_changes.used_by IS 'Planer och mål som använder KPI:n eller gruppen: plan (mål), …; tomt om ingen.';
