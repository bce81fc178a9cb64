"""The refresh's plain steps, without Prefect: years, plans, warnings, SCB segments, batches."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from flows import pipeline, preflight, rebuild
from flows.changes import Changes
from flows.pipeline import InputError, PlanInput, RunCatalogue, UnavailableSeriesError
from flows.report import latest_goal_rows, refresh_markdown
from sources.base import SourceAnswers
from sources.landing import RawStore
from sources.staging import Stage
from tests.catalogue_fixture import fixture_catalogue
from transforms.goal_plan import parse_goal_plan
from transforms.schema import OBSERVATION_SCHEMA, empty_observations
from warehouse.load import LoadCounts

PLAN = """
plan:
  id: testplan
  title: Testplan
  municipality: "0115"
  county: "0001"
  years: 2024-2025
series:
  scb:population:
    scb:
      - {table: TAB638, content: BE0101N1, select: {Alder: tot}, to_year: 2024}
      - {table: TAB5557, content: 000007ME, select: {Kon: TotSa}, from_year: 2025}
  scb:change:
    derived: {formula: pct_change, of: scb:population}
goals:
  - id: tillvaxt
    title: Tillväxt
    indicators:
      - {kpi: N15507, direction: higher}
      - {series: scb:change, direction: none}
"""


def plan_input() -> PlanInput:
    return PlanInput(parse_goal_plan(PLAN, "test.yaml"), PLAN, "test.yaml", "hash")


def observations(rows: list[tuple[str, str, int, float | None]]) -> pl.DataFrame:
    """Observation rows (series, area, year, value), gender T: test data."""
    given = pl.DataFrame(
        rows,
        schema={
            "series_id": pl.String,
            "municipality_id": pl.String,
            "year": pl.Int32,
            "value": pl.Float64,
        },
        orient="row",
    )
    return pl.concat(
        [
            empty_observations(),
            given.with_columns(
                source=pl.lit("kolada"), gender=pl.lit("T"), is_deleted=pl.lit(False)
            ),
        ],
        how="diagonal_relaxed",
    ).cast(pl.Schema(OBSERVATION_SCHEMA))


@pytest.mark.parametrize(
    ("text", "expected"), [("2020-2024", (2020, 2024)), ("2024", (2024, 2024)), (None, None)]
)
def test_years_parse_as_a_closed_range(text, expected):
    assert pipeline.parse_years(text) == expected


@pytest.mark.parametrize("text", ["2024-2020", "twenty", "2020-2022-2024", "1800-1900"])
def test_malformed_years_are_bad_input(text):
    with pytest.raises(InputError, match="--years"):
        pipeline.parse_years(text)


def test_missing_plan_file_is_bad_input_naming_the_file(tmp_path: Path):
    with pytest.raises(InputError, match=r"nowhere\.yaml: cannot read the goal plan"):
        preflight.read_plan(tmp_path / "nowhere.yaml")


def test_plan_with_a_bad_key_is_bad_input_naming_the_file(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text(PLAN.replace("direction: higher", "direction: up"), encoding="utf-8")

    with pytest.raises(InputError, match=r"bad\.yaml.*direction"):
        preflight.read_plan(path)


def test_missing_data_warnings_name_indicators_without_values():
    plan = plan_input().plan
    # N15507 has values, but not Vallentuna's; scb:change has none at all.
    warnings = pipeline.missing_data_warnings(plan, {"N15507": False})

    assert warnings == [
        "N15507: no values for 0115 in these years (shown grey)",
        "scb:change: no values for these years (shown grey)",
    ]


def test_unavailable_series_get_one_warning_not_two():
    plan = plan_input().plan

    assert pipeline.missing_data_warnings(plan, {"N15507": True}, {"scb:change"}) == []


def test_unavailable_indicator_warns_and_strict_fails():
    plan = plan_input().plan
    reasons = {"scb:change": "SCB: Non-existent table TAB638"}

    assert pipeline.check_strict(plan, reasons, strict=False) == [
        "scb:change: unavailable — SCB: Non-existent table TAB638"
    ]
    with pytest.raises(UnavailableSeriesError, match="Non-existent table"):
        pipeline.check_strict(plan, reasons, strict=True)


def test_batch_marks_unavailable_indicators_with_the_sources_reason(tmp_path: Path):
    plan = plan_input()

    batch = pipeline.build_batch(
        "run-1",
        plan,
        RunCatalogue(fixture_catalogue(), fresh=False),
        {"scb:change": "gone"},
        Stage(tmp_path / "stage"),
        responses=[],
    )

    assert batch.plan is not None
    reasons = dict(batch.plan["goal_indicator"].select("indicator_id", "unavailable_reason").rows())
    assert reasons == {"N15507": None, "scb:change": "gone"}
    assert batch.kpis is None  # a catalogue from the warehouse's copy is not reloaded


def test_series_computed_from_an_unavailable_one_are_unavailable_too():
    plan = plan_input().plan
    answers = {"scb": SourceAnswers("scb", unavailable={"scb:population": "SCB: gone"})}

    assert pipeline.unavailable_series(plan, answers) == {
        "scb:population": "SCB: gone",
        "scb:change": pipeline.COMPUTED_FROM_UNAVAILABLE,
    }


def test_the_sources_asked_are_those_the_plan_uses():
    assert [source.name for source in pipeline.sources_for(plan_input().plan)] == [
        "kolada",
        "scb",
    ]


def test_requests_count_http_answers_by_kind_not_files_or_notes():
    rows = [
        {"kind": "data", "method": "GET"},
        {"kind": "scb_data", "method": "POST"},
        {"kind": "own_file", "method": "FILE"},
        {"kind": "data", "method": "GET"},
    ]

    assert pipeline.requests_by_kind(rows) == {"data": 2, "scb_data": 1}


def test_a_run_without_its_plan_cannot_be_replayed(tmp_path: Path):
    store = RawStore(tmp_path)
    store.mark_completed("20260101T000000Z-abcdef")

    with pytest.raises(InputError, match="no goal plan was landed"):
        rebuild.read_landed_plan(store, "20260101T000000Z-abcdef", [])


def test_rebuild_without_landed_runs_is_bad_input(tmp_path: Path):
    with pytest.raises(InputError, match="no completed runs"):
        rebuild.rebuild_from_raw(tmp_path / "w.duckdb", tmp_path / "raw")


def test_markdown_summary_reports_requests_rows_warnings_and_latest_goal_status():
    summary = pl.DataFrame(
        {
            "goal_id": ["tillvaxt", "tillvaxt"],
            "year": [2024, 2025],
            "with_value": [2, 0],
            "status": ["uppfyllt", "underlag saknas"],
            "green": [2, 0],
            "yellow": [0, 0],
            "red": [0, 0],
            "grey": [0, 2],
            "targets_met": [1, 0],
            "targets_missed": [0, 0],
        }
    )
    result = pipeline.RefreshResult(
        run_id="run-1",
        plan_id="testplan",
        years=(2023, 2025),
        requests_made=7,
        requests_by_kind={"data": 2, "kpi": 2, "scb_data": 3},
        observations=1234,
        counts=LoadCounts(1000, 200, 34),
        warnings=["N15507: no values for 0115 in these years (shown grey)"],
        summary=summary,
    )

    markdown = refresh_markdown(result)

    assert "Requests: 7 (data 2, kpi 2, scb_data 3)" in markdown
    assert "1,000 inserted, 200 revised, 34 unchanged, 0 deleted" in markdown
    assert "| tillvaxt | 2024 | uppfyllt | 2 | 0 | 0 | 0 | 1 | 0 |" in markdown
    assert "- N15507: no values for 0115" in markdown
    assert latest_goal_rows(summary)["year"].to_list() == [2024]


def test_years_given_are_fetched_exactly(tmp_path: Path):
    request = pipeline.RefreshRequest(
        tmp_path / "p.yaml", tmp_path / "w.duckdb", tmp_path / "raw", years=(2000, 2024)
    )

    assert preflight.years_to_fetch(request, plan_input().plan) == list(range(2000, 2025))


def test_the_year_before_is_fetched_only_when_the_warehouse_lacks_it(tmp_path: Path):
    from tests.warehouse_data import observations as observation_rows
    from warehouse.connection import open_warehouse
    from warehouse.load import RefreshBatch, load_refresh

    plan = parse_goal_plan(
        PLAN.replace(
            "  scb:change:\n    derived: {formula: pct_change, of: scb:population}\n", ""
        ).replace(
            "{series: scb:change, direction: none}", "{series: scb:population, direction: none}"
        ),
        "t.yaml",
    )
    warehouse = tmp_path / "w.duckdb"
    request = pipeline.RefreshRequest(tmp_path / "p.yaml", warehouse, tmp_path / "raw")
    assert preflight.years_to_fetch(request, plan) == [2023, 2024, 2025]

    rows = [("N15507", "0115", 2023, 1.0)]
    with open_warehouse(warehouse) as con:
        load_refresh(con, RefreshBatch("r1", observations=observation_rows(rows)))
    assert preflight.years_to_fetch(request, plan) == [2023, 2024, 2025]  # scb:population lacks it

    rows.append(("scb:population", "0115", 2023, 2.0))
    with open_warehouse(warehouse) as con:
        load_refresh(con, RefreshBatch("r2", observations=observation_rows(rows)))
    assert preflight.years_to_fetch(request, plan) == [2024, 2025]


def test_a_plan_with_a_change_in_percent_always_fetches_the_year_before(tmp_path: Path):
    request = pipeline.RefreshRequest(tmp_path / "p.yaml", tmp_path / "w.duckdb", tmp_path / "r")

    assert preflight.years_to_fetch(request, plan_input().plan)[0] == 2023


def test_the_artifact_lists_what_the_run_changed_or_says_nothing_did():
    changes = Changes(
        pl.DataFrame(
            {
                "goal_id": ["kvalitet"],
                "indicator_id": ["N15507"],
                "series_id": ["N15507"],
                "year": [2024],
                "change": ["reviderat"],
                "old_value": [231.3],
                "new_value": [229.8],
                "old_rank": [80],
                "new_rank": [70],
                "old_colour": ["gul"],
                "new_colour": ["grön"],
                "old_target": ["uppfyllt"],
                "new_target": ["uppfyllt"],
            }
        ),
        pl.DataFrame(
            {
                "goal_id": ["kvalitet"],
                "year": [2024],
                "old_status": ["delvis uppfyllt"],
                "new_status": ["uppfyllt"],
            }
        ),
    )
    base = {
        "run_id": "run-2",
        "plan_id": "testplan",
        "years": (2023, 2025),
        "requests_made": 3,
        "requests_by_kind": {"data": 1},
        "observations": 1,
        "warnings": [],
        "summary": pl.DataFrame(),
    }
    changed = refresh_markdown(
        pipeline.RefreshResult(**base, counts=LoadCounts(0, 1, 0), changes=changes)
    )
    unchanged = refresh_markdown(pipeline.RefreshResult(**base, counts=LoadCounts(0, 0, 5)))

    assert "- N15507 2024 reviderat 231,3 → 229,8; rang 80 → 70; färg gul → grön" in changed
    assert "- mål kvalitet 2024: delvis uppfyllt → uppfyllt" in changed
    assert "inga ändringar" not in changed
    assert "5 unchanged, 0 deleted — inga ändringar" in unchanged
    assert "Ändringar" not in unchanged
