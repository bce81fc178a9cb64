-- The last loaded comparison groups.
SELECT id, title
FROM core.municipality_group
ORDER BY id
