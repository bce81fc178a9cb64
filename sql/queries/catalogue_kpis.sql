-- The last loaded Kolada KPI catalogue (columns of the catalogue frame).
SELECT
    id, title, description, is_divided_by_gender, municipality_type, auspice, operating_area,
    perspective, prel_publication_date, publication_date, publ_period, has_ou_data
FROM core.kpi
ORDER BY id
