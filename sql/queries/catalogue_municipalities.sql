-- The last loaded areas: kommuner (K), regions and Riket (L).
SELECT id, title, type
FROM core.municipality
ORDER BY id
