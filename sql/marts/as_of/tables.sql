-- "As known at" a moment: one table macro per versioned table (core.<table>_history,
-- sql/migrations/009), each giving exactly the columns of the current table with the
-- rows that were current at `known_at` (a TIMESTAMPTZ; a DATE means its midnight).
--
--   SELECT * FROM core.observation_as_of(TIMESTAMPTZ '2026-03-01 12:00+01')
--   WHERE series_id = 'N15507' AND municipality_id = '0115';
--   SELECT * FROM core.observation_as_of((SELECT ended_at FROM core.run WHERE run_id = '…'));
--
-- The marts have their own: mart.goal_indicator_status_as_of(known_at) and
-- mart.goal_summary_as_of(known_at) (warehouse/as_of.py makes them from the marts' SQL).
CREATE OR REPLACE MACRO core.observation_as_of(known_at) AS TABLE
SELECT * EXCLUDE (valid_from, valid_to, change)
FROM core.observation_history
WHERE valid_from <= known_at AND (valid_to IS NULL OR valid_to > known_at) AND NOT is_deleted;

CREATE OR REPLACE MACRO core.kpi_as_of(known_at) AS TABLE
SELECT * EXCLUDE (valid_from, valid_to)
FROM core.kpi_history
WHERE valid_from <= known_at AND (valid_to IS NULL OR valid_to > known_at);

CREATE OR REPLACE MACRO core.municipality_as_of(known_at) AS TABLE
SELECT * EXCLUDE (valid_from, valid_to)
FROM core.municipality_history
WHERE valid_from <= known_at AND (valid_to IS NULL OR valid_to > known_at);

CREATE OR REPLACE MACRO core.municipality_group_as_of(known_at) AS TABLE
SELECT * EXCLUDE (valid_from, valid_to)
FROM core.municipality_group_history
WHERE valid_from <= known_at AND (valid_to IS NULL OR valid_to > known_at);

CREATE OR REPLACE MACRO core.municipality_group_member_as_of(known_at) AS TABLE
SELECT * EXCLUDE (valid_from, valid_to)
FROM core.municipality_group_member_history
WHERE valid_from <= known_at AND (valid_to IS NULL OR valid_to > known_at);

CREATE OR REPLACE MACRO core.goal_plan_as_of(known_at) AS TABLE
SELECT * EXCLUDE (valid_from, valid_to)
FROM core.goal_plan_history
WHERE valid_from <= known_at AND (valid_to IS NULL OR valid_to > known_at);

CREATE OR REPLACE MACRO core.goal_as_of(known_at) AS TABLE
SELECT * EXCLUDE (valid_from, valid_to)
FROM core.goal_history
WHERE valid_from <= known_at AND (valid_to IS NULL OR valid_to > known_at);

CREATE OR REPLACE MACRO core.goal_indicator_as_of(known_at) AS TABLE
SELECT * EXCLUDE (valid_from, valid_to)
FROM core.goal_indicator_history
WHERE valid_from <= known_at AND (valid_to IS NULL OR valid_to > known_at);

CREATE OR REPLACE MACRO core.series_as_of(known_at) AS TABLE
SELECT * EXCLUDE (valid_from, valid_to)
FROM core.series_history
WHERE valid_from <= known_at AND (valid_to IS NULL OR valid_to > known_at);
