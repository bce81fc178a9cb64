"""SCB in a refresh (sources/scb/series.py): table roles, selections, fetch, landing, replay.

Against the real recorded SCB shapes in fakes/data/scb/ and the fake PxWebApi serving them.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from fakes.scb_server import DATA_DIR, FakeScbServer
from sources.base import (
    UNAVAILABLE_KIND,
    FetchContext,
    LandedAnswer,
    SourceAnswers,
    answers_from_landing,
)
from sources.http import SlidingWindowLimiter
from sources.landing import RawStore
from sources.scb import client as scb_client
from sources.scb.series import PlannedSegment, ScbSource, segment_selection
from tests.catalogue_fixture import fixture_catalogue
from transforms.goal_plan import GoalPlan, ScbSegment, parse_goal_plan
from transforms.scb import TableRoles, table_roles
from transforms.schema import empty_observations

METADATA_FILES = sorted((DATA_DIR / "metadata").glob("*.json"))
TABLES_WITHOUT_SEX = {"TAB2538", "TAB4357"}
TAB637_DATA = DATA_DIR / "data" / "v2_TAB637_mean_age_1998-2025__atlas290_trimmed.json"
RUN_ID = "run-1"

# TAB637 with every role variable renamed, as another table might name them.
RENAMES = {"Region": "Omrade", "Kon": "Sex", "Tid": "Year", "ContentsCode": "Measure"}
RENAMED_LABELS = {"Omrade": "område", "Sex": "sex"}
RENAMED_ROLES = TableRoles(region="Omrade", time="Year", content="Measure", sex="Sex")

PLAN_HEAD = """
plan:
  id: testplan
  title: Testplan (testdata)
  municipality: "0115"
  years: 2023-2025
"""

# Median income: the recording has Alder tot16+ (Kon 1+2 and Inkomstklass TOT, both
# eliminable). Net migration moved from TAB1212 (to 2024) to TAB6640 (2025 on).
PLAN = (
    PLAN_HEAD
    + """
series:
  scb:median_income:
    scb:
      - {table: TAB3554, content: HE0110J8, select: {Alder: tot16+}}
  scb:net_migration:
    scb:
      - {table: TAB1212, content: BE0101AZ, to_year: 2024}
      - {table: TAB6640, content: "00000868", select: {Kon: TotSa}, from_year: 2025}
goals:
  - id: tillvaxt
    title: Tillväxt
    indicators:
      - {series: scb:median_income, direction: higher}
      - {series: scb:net_migration, direction: none}
"""
)

PLAN_WITH_MISSING_TABLE = (
    PLAN_HEAD
    + """
series:
  scb:median_income:
    scb:
      - {table: TAB3554, content: HE0110J8, select: {Alder: tot16+}}
  scb:gone:
    scb:
      - {table: TAB9999, content: XX0101A1}
goals:
  - id: tillvaxt
    title: Tillväxt
    indicators:
      - {series: scb:median_income, direction: higher}
      - {series: scb:gone, direction: higher}
"""
)


def mean_age_plan(segment: str) -> str:
    return (
        PLAN_HEAD
        + f"""
series:
  scb:mean_age:
    scb:
      - {segment}
goals:
  - id: befolkning
    title: Befolkning
    indicators:
      - {{series: scb:mean_age, direction: none}}
"""
    )


@pytest.fixture(autouse=True)
def own_scb_limiter(monkeypatch: pytest.MonkeyPatch) -> None:
    """A limiter of this test's own: SCB's is shared by the process and tests would wait."""
    monkeypatch.setattr(scb_client, "_SHARED_LIMITER", SlidingWindowLimiter(1000, 1.0))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text("utf-8"))


def metadata(table: str) -> dict[str, Any]:
    return load(DATA_DIR / "metadata" / f"{table}.json")


def renamed(doc: dict[str, Any], *, geo: bool) -> dict[str, Any]:
    """A JSON-stat document (metadata or data) with RENAMES applied throughout.

    The time and metric roles follow the renames; ``geo`` adds ``role.geo`` for the region.
    """
    doc = copy.deepcopy(doc)

    def new(names: list[str]) -> list[str]:
        return [RENAMES.get(name, name) for name in names]

    doc["id"] = new(doc["id"])
    doc["dimension"] = {RENAMES.get(v, v): d for v, d in doc["dimension"].items()}
    for variable, label in RENAMED_LABELS.items():
        doc["dimension"][variable]["label"] = label
    doc["role"] = {role: new(names) for role, names in doc["role"].items()}
    if geo:
        doc["role"]["geo"] = ["Omrade"]
    px = doc["extension"]["px"]
    px["heading"], px["stub"] = new(px["heading"]), new(px["stub"])
    return doc


def renamed_data_dir(root: Path, *, geo: bool) -> Path:
    """A fake SCB data folder holding only TAB637, renamed in metadata and recording."""
    (root / "metadata").mkdir(parents=True)
    (root / "data").mkdir()
    shutil.copy(DATA_DIR / "config.json", root / "config.json")
    for path, doc in (
        (root / "metadata" / "TAB637.json", renamed(metadata("TAB637"), geo=geo)),
        (root / "data" / TAB637_DATA.name, renamed(load(TAB637_DATA), geo=geo)),
    ):
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return root


def planned(**segment: Any) -> PlannedSegment:
    return PlannedSegment("scb:test", 0, ScbSegment(**segment))


def fetch(
    plan_text: str, root: Path, data_dir: Path = DATA_DIR
) -> tuple[GoalPlan, RawStore, SourceAnswers]:
    """The plan fetched from a fake SCB serving data_dir, landed under root."""
    plan = parse_goal_plan(plan_text, "test.yaml")
    store = RawStore(root / "raw")
    with FakeScbServer(max_calls=1000, window=1.0, data_dir=data_dir) as scb:
        context = FetchContext(
            run_id=RUN_ID,
            store=store,
            years=list(plan.fetch_years()),
            catalogue=fixture_catalogue(),
            plan_dir=root,
            base_urls={"scb": scb.base_url},
        )
        answers = ScbSource().fetch(plan, context)
    return plan, store, answers


def observations(plan: GoalPlan, answers: SourceAnswers) -> pl.DataFrame:
    chunks = list(ScbSource().observations(plan, answers, fixture_catalogue()))
    return pl.concat(chunks) if chunks else empty_observations()


def replayed(store: RawStore) -> SourceAnswers:
    return answers_from_landing(store, store.manifest(RUN_ID), "scb")


def value(obs: pl.DataFrame, series_id: str, area: str, year: int) -> tuple[float, str]:
    row = obs.filter(
        (pl.col("series_id") == series_id)
        & (pl.col("municipality_id") == area)
        & (pl.col("year") == year)
    )
    assert row.height == 1
    return row.item(0, "value"), row.item(0, "table_id")


# -- table_roles ---------------------------------------------------------------------


def test_the_role_checks_cover_recorded_tables_with_and_without_sex():
    assert {"TAB637", "TAB3554", *TABLES_WITHOUT_SEX} <= {path.stem for path in METADATA_FILES}


@pytest.mark.parametrize("path", METADATA_FILES, ids=lambda path: path.stem)
def test_table_roles_finds_region_time_content_and_sex_of_every_recorded_table(path: Path):
    roles = table_roles(load(path))

    sex = None if path.stem in TABLES_WITHOUT_SEX else "Kon"
    assert roles == TableRoles(region="Region", time="Tid", content="ContentsCode", sex=sex)


def test_table_roles_finds_renamed_variables_from_json_stat_roles_and_labels():
    assert table_roles(renamed(metadata("TAB637"), geo=True)) == RENAMED_ROLES


def test_table_roles_without_a_geo_role_or_region_label_names_the_missing_region():
    with pytest.raises(ValueError, match=r"TAB637: no region variable in the metadata"):
        table_roles(renamed(metadata("TAB637"), geo=False))


def test_a_plan_override_names_the_region_the_metadata_does_not_tell():
    roles = table_roles(renamed(metadata("TAB637"), geo=False), {"region": "Omrade"})

    assert roles == RENAMED_ROLES


def test_an_override_naming_a_variable_the_table_lacks_is_refused_by_name():
    with pytest.raises(ValueError, match=r"TAB637: region variable 'Region' is not one of"):
        table_roles(renamed(metadata("TAB637"), geo=True), {"region": "Region"})


# -- segment_selection ---------------------------------------------------------------


def test_segment_selection_asks_all_regions_content_fixed_codes_and_wanted_years_in_table():
    meta = metadata("TAB3554")  # years 1999-2024
    segment = planned(
        table="TAB3554",
        content="HE0110J8",
        select={"Alder": "tot16+"},
        from_year=1990,
        to_year=2023,
    )

    selection = segment_selection(segment, table_roles(meta), meta, range(1995, 2027))

    assert selection == {
        "Alder": "tot16+",
        "Region": ["*"],
        "ContentsCode": ["HE0110J8"],
        "Tid": [str(year) for year in range(1999, 2024)],
    }


def test_segment_selection_uses_the_tables_own_variable_names():
    meta = renamed(metadata("TAB637"), geo=True)
    segment = planned(table="TAB637", content="BE0101G9", select={"Sex": "1+2"})

    selection = segment_selection(segment, table_roles(meta), meta, [2024, 2025])

    assert selection == {
        "Sex": "1+2",
        "Omrade": ["*"],
        "Measure": ["BE0101G9"],
        "Year": ["2024", "2025"],
    }


def test_segment_selection_is_none_when_no_wanted_year_is_in_the_table():
    meta = metadata("TAB3554")  # years 1999-2024
    segment = planned(table="TAB3554", content="HE0110J8", from_year=2020)

    assert segment_selection(segment, table_roles(meta), meta, [2018, 2019, 2025]) is None


def test_segment_selection_without_years_asks_for_every_year():
    meta = metadata("TAB3554")
    segment = planned(table="TAB3554", content="HE0110J8", from_year=2020, to_year=2022)

    selection = segment_selection(segment, table_roles(meta), meta, None)

    assert selection is not None
    assert selection["Tid"] == ["*"]


# -- fetch, landing and observations ------------------------------------------------


def test_fetch_lands_every_answer_with_its_kind_and_tag(tmp_path: Path):
    _, store, answers = fetch(PLAN, tmp_path)

    manifest = store.manifest(RUN_ID)
    assert manifest == [answer.row for answer in answers.answers]
    assert [(row["kind"], row.get("tag"), row["status"]) for row in manifest] == [
        ("scb_config", None, 200),
        ("scb_metadata", {"table": "TAB3554"}, 200),
        ("scb_metadata", {"table": "TAB1212"}, 200),
        ("scb_metadata", {"table": "TAB6640"}, 200),
        ("scb_data", {"table": "TAB3554", "series_id": "scb:median_income", "segment": 0}, 200),
        ("scb_data", {"table": "TAB1212", "series_id": "scb:net_migration", "segment": 0}, 200),
        ("scb_data", {"table": "TAB6640", "series_id": "scb:net_migration", "segment": 1}, 200),
    ]
    assert all(store.read_body(a.content_hash) == a.body for a in answers.answers)


def test_observations_from_the_landing_equal_those_from_the_fetch(tmp_path: Path):
    plan, store, answers = fetch(PLAN, tmp_path)

    fetched = observations(plan, answers)
    rebuilt = observations(plan, replayed(store))

    assert fetched.height == 312 * 3 + 312 * 4  # three income years, four migration years
    assert rebuilt.equals(fetched)


def test_observations_are_kolada_areas_from_source_scb(tmp_path: Path):
    plan, _, answers = fetch(PLAN, tmp_path)

    obs = observations(plan, answers)

    kolada_areas = set(fixture_catalogue().municipalities.get_column("id"))
    assert obs.get_column("source").unique().to_list() == ["scb"]
    for (series_id, year), areas in obs.group_by("series_id", "year"):
        # TAB1212 also has Stor-Stockholm/-Göteborg/-Malmö, which Kolada lacks.
        assert set(areas.get_column("municipality_id")) == kolada_areas, (series_id, year)


def test_recorded_cells_arrive_and_a_moved_series_is_stitched_by_segment(tmp_path: Path):
    plan, _, answers = fetch(PLAN, tmp_path)

    obs = observations(plan, answers)

    assert value(obs, "scb:median_income", "0180", 2024) == (394.8, "TAB3554")
    # Kon eliminated: men plus women as recorded for Upplands Väsby (388 + 286, -14 + 69).
    assert value(obs, "scb:net_migration", "0114", 2023) == (674.0, "TAB1212")
    assert value(obs, "scb:net_migration", "0114", 2024) == (55.0, "TAB1212")
    assert value(obs, "scb:net_migration", "0114", 2025) == (38.0, "TAB6640")


# -- a table SCB does not have -------------------------------------------------------


def test_a_table_scb_does_not_have_makes_its_series_unavailable_with_scbs_reason(
    tmp_path: Path,
):
    _, _, answers = fetch(PLAN_WITH_MISSING_TABLE, tmp_path)

    assert list(answers.unavailable) == ["scb:gone"]
    reason = answers.unavailable["scb:gone"]
    assert "TAB9999" in reason
    assert "'Non-existent table' (HTTP 404)" in reason
    assert "series scb:gone" in reason


def test_the_unavailable_note_is_landed_and_comes_back_from_the_landing(tmp_path: Path):
    _, store, answers = fetch(PLAN_WITH_MISSING_TABLE, tmp_path)

    notes = [row for row in store.manifest(RUN_ID) if row["kind"] == UNAVAILABLE_KIND]
    assert len(notes) == 1
    assert json.loads(store.read_body(notes[0]["content_hash"])) == answers.unavailable
    assert replayed(store).unavailable == answers.unavailable


def test_other_series_still_get_observations_when_one_table_is_missing(tmp_path: Path):
    plan, store, answers = fetch(PLAN_WITH_MISSING_TABLE, tmp_path)

    for source_answers in (answers, replayed(store)):
        obs = observations(plan, source_answers)
        assert obs.get_column("series_id").unique().to_list() == ["scb:median_income"]
        assert obs.height == 312 * 3


# -- a table with other variable names -----------------------------------------------


@pytest.mark.parametrize(
    ("geo", "plan_variables"),
    [(True, ""), (False, ", variables: {region: Omrade}")],
    ids=["region-from-geo-role", "region-from-plan-variables"],
)
def test_a_table_with_renamed_variables_gives_the_same_values_as_the_original(
    tmp_path: Path, geo: bool, plan_variables: str
):
    original_plan, _, original_answers = fetch(
        mean_age_plan('{table: TAB637, content: BE0101G9, select: {Kon: "1+2"}}'),
        tmp_path / "original",
    )
    renamed_plan, _, renamed_answers = fetch(
        mean_age_plan(
            '{table: TAB637, content: BE0101G9, select: {Sex: "1+2"}' + plan_variables + "}"
        ),
        tmp_path / "renamed",
        renamed_data_dir(tmp_path / "scb", geo=geo),
    )

    assert renamed_answers.unavailable == {}
    original = observations(original_plan, original_answers)
    got = observations(renamed_plan, renamed_answers)
    assert got.height == original.height == 312 * 4
    # Cells no recording holds get synthetic values seeded by variable names: compare
    # the recorded areas (Upplands Väsby, Vallentuna, Knivsta).
    recorded = pl.col("municipality_id").is_in(["0114", "0115", "0330"])
    columns = [c for c in original.columns if c != "response_hash"]
    assert got.filter(recorded).height == 3 * 4
    assert got.filter(recorded).select(columns).equals(original.filter(recorded).select(columns))
    assert value(got, "scb:mean_age", "0115", 2025) == (40.8, "TAB637")


def test_table_listing_shows_the_content_codes_of_a_renamed_content_variable():
    from transforms.scb import scb_table_variables

    listing = scb_table_variables(renamed(metadata("TAB637"), geo=True))

    contents = listing.filter(listing["kind"] == "content")
    assert contents["code"].to_list() == ["BE0101G9"]
    assert "Measure" not in listing["code"].to_list()


def test_answers_landed_without_tags_are_skipped_not_misread():
    plan = parse_goal_plan(
        """
plan: {id: t, title: T, municipality: "0115", years: 2020-2021}
series:
  scb:income:
    scb:
      - {table: TAB3554, content: HE0110J8}
goals:
  - {id: g, title: G, indicators: [{series: scb:income, direction: higher}]}
""",
        "t.yaml",
    )
    old = SourceAnswers(
        "scb",
        answers=[
            LandedAnswer({"kind": "scb_metadata", "status": 200, "content_hash": "0"}, b"{}"),
            LandedAnswer({"kind": "scb_data", "status": 200, "content_hash": "1"}, b"{}"),
        ],
    )

    assert list(ScbSource().observations(plan, old, fixture_catalogue())) == []
