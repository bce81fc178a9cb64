-- mart.goal_indicator_status: en rad per plan, mål, indikator, område och år.
--
-- The rows are computed at load time into mart.goal_indicator_status_base
-- (sql/marts/build/goal_indicator_status_base.sql says how: areas, years, comparisons,
-- ranks, colours, targets); this view adds the attribution from core.attribution
-- (transforms/rules.py). Rows computed from generated sample values have source_kind
-- 'sample', so they say "Exempeldata" wherever they are loaded or rebuilt.
CREATE OR REPLACE VIEW mart.goal_indicator_status AS
SELECT
    base.* EXCLUDE (source_kind, unavailable_reason),
    attribution.text AS source,
    base.unavailable_reason
FROM mart.goal_indicator_status_base AS base
LEFT JOIN core.attribution AS attribution ON attribution.kind = base.source_kind;

COMMENT ON TABLE mart.goal_indicator_status_base IS
    'Materialised body of the view mart.goal_indicator_status, rebuilt by every load. Query the view.';
COMMENT ON VIEW mart.goal_indicator_status IS
    'Per plan, mål, indikator, område och år: värde, jämförelser, rang, färg och målvärde. '
    'Varje kommun (varje region i en regions plan), planens år, året före och varje år med värden. '
    '(Per plan, goal, indicator, area and year: value, comparisons, rank, colour and target.)';
COMMENT ON COLUMN mart.goal_indicator_status.plan_id IS 'Målplanens id (core.goal_plan).';
COMMENT ON COLUMN mart.goal_indicator_status.goal_id IS 'Målets id i planen.';
COMMENT ON COLUMN mart.goal_indicator_status.indicator_id IS 'Indikatorns id i målet (Koladas KPI-id eller planens serie-id om inget annat anges).';
COMMENT ON COLUMN mart.goal_indicator_status.kpi_title IS 'Indikatorns namn: planens, annars Koladas KPI-namn, annars seriens.';
COMMENT ON COLUMN mart.goal_indicator_status.unit IS 'Enhet: seriens enhet, eller det Koladas KPI-namn slutar med (t.ex. "andel (%)", "antal").';
COMMENT ON COLUMN mart.goal_indicator_status.municipality_id IS 'Områdets kod, fyra siffror (Koladas koder).';
COMMENT ON COLUMN mart.goal_indicator_status.municipality_name IS 'Områdets namn enligt Kolada.';
COMMENT ON COLUMN mart.goal_indicator_status.year IS 'År.';
COMMENT ON COLUMN mart.goal_indicator_status.value IS 'Värde för båda könen (T); tomt om det saknas, är raderat eller gäller ett år före indikatorns första jämförbara år.';
COMMENT ON COLUMN mart.goal_indicator_status.riket_value IS 'Rikets värde (0000) samma år.';
COMMENT ON COLUMN mart.goal_indicator_status.county_id IS 'Områdets län (region): för en kommun regionen med samma två första siffror (1280 Malmö: 0012 Region Skåne); för planens eget område planens county.';
COMMENT ON COLUMN mart.goal_indicator_status.county_value IS 'Länets (county_id) värde samma år; tomt om det saknas.';
COMMENT ON COLUMN mart.goal_indicator_status.peer_group_id IS 'Jämförelsegruppen för just detta område: dess egen grupp av samma slag och årgång som planens "Liknande kommuner …"-grupp, annars planens grupp. Tomt om ingen sådan grupp finns.';
COMMENT ON COLUMN mart.goal_indicator_status.peer_group IS 'Jämförelsegruppens namn enligt Kolada.';
COMMENT ON COLUMN mart.goal_indicator_status.peer_value IS 'Ovägt medel av jämförelsegruppens medlemmar med värde samma år (som Kolada räknar en grupps värde), utan området självt.';
COMMENT ON COLUMN mart.goal_indicator_status.peer_basis IS 'Hur peer_value räknades: gruppen, hur många medlemmar som hade värde, och om området självt lämnades utanför.';
COMMENT ON COLUMN mart.goal_indicator_status.peer_members_since IS 'När jämförelsegruppens medlemmar senast ändrades (enligt lagrets historik): peer_value räknas på medlemmarna som gällde då. I _as_of-makrona: så som det var känt vid den tidpunkten.';
COMMENT ON COLUMN mart.goal_indicator_status.change_from_previous_year IS 'Värdet minus värdet året före (tomt om något saknas).';
COMMENT ON COLUMN mart.goal_indicator_status.rank IS 'Rang bland områdena med värde samma år, 1 = bäst i indikatorns riktning; lika värden delar rang (1, 2, 2, 4). Tomt utan värde eller riktning.';
COMMENT ON COLUMN mart.goal_indicator_status.ranked_count IS 'Antal områden med värde samma år (tomt utan riktning).';
COMMENT ON COLUMN mart.goal_indicator_status.colour IS 'Färgkod: green bästa fjärdedelen, red sämsta, yellow däremellan; grey utan värde, utan riktning eller med färre än 4 rangordnade.';
COMMENT ON COLUMN mart.goal_indicator_status.colour_label IS 'Färgen på svenska: grön, gul, röd eller grå.';
COMMENT ON COLUMN mart.goal_indicator_status.direction IS 'higher eller lower är bättre; tomt om indikatorn saknar riktning.';
COMMENT ON COLUMN mart.goal_indicator_status.target IS 'Målvärdet i ord, som planen anger det.';
COMMENT ON COLUMN mart.goal_indicator_status.target_met IS 'Om målvärdet nås; tomt utan målvärde, utan värde eller när jämförelsevärdet saknas.';
COMMENT ON COLUMN mart.goal_indicator_status.target_result IS 'uppfyllt, ej uppfyllt, ej bedömbart (jämförelsevärdet saknas, t.ex. ingen jämförelsegrupp) eller värde saknas; tomt utan målvärde.';
COMMENT ON COLUMN mart.goal_indicator_status.is_latest IS 'Sant det senaste året med värde för indikatorn och området.';
COMMENT ON COLUMN mart.goal_indicator_status.source IS 'Källhänvisning att skriva under en tabell eller ett diagram (Exempeldata i ett lager med genererade värden).';
COMMENT ON COLUMN mart.goal_indicator_status.unavailable_reason IS 'Varför jämförbart värde saknas: källans skäl, eller åren före första jämförbara år.';
