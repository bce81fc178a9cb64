"""End to end over two and three refreshes: Kolada revises, adds and deletes values,
rewords a KPI and changes a group's members; SCB updates a table. The second refresh
fetches only the changes, the history keeps old and new, the as-of macros give back the
first run's marts, `malbild changes` lists exactly what was injected, and the run warns
about the definition and membership changes.

Values are TEST DATA (tests/test_refresh_flow.py); KPI records and areas are real.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from flows.cli import main
from tests import test_refresh_flow
from tests.test_refresh_flow import PLAN, SCB_GOAL, SCB_SERIES, query, run

pytestmark = pytest.mark.e2e

# The same fake servers (with the TEST DATA) and plan file as tests/test_refresh_flow.py.
fakes = test_refresh_flow.fakes
plan_file = test_refresh_flow.plan_file

MARTS = {
    "goal_indicator_status": "plan_id, goal_id, indicator_id, municipality_id, year",
    "goal_summary": "plan_id, goal_id, municipality_id, year",
}


def marts(warehouse: Path, at: datetime | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """The goal marts now, or as known at ``at``."""
    found = {}
    for name, order in MARTS.items():
        source = f"mart.{name}" if at is None else f"mart.{name}_as_of(?)"
        params = [] if at is None else [at]
        found[name] = query(warehouse, f"SELECT * FROM {source} ORDER BY {order}", *params)
    return found


def last_run(warehouse: Path) -> tuple[Any, ...]:
    return query(
        warehouse,
        "SELECT run_id, ended_at, rows_inserted, rows_updated, rows_unchanged, rows_deleted,"
        " warnings FROM core.run WHERE kind = 'refresh' ORDER BY started_at DESC LIMIT 1",
    )[0]


def inject_changes(kolada: Any) -> None:
    """What Kolada publishes between the two refreshes (TEST DATA)."""
    kolada.revise("N07403", "0115", 2024, [{"value": 700.0}])  # 400 → 700: rank 1 → 4
    kolada.revise("N00097", "0115", 2023, [{"value": 2.0}])  # a year newly published
    kolada.revise("N15507", "0125", 2024, [{"value": 210.0}])  # another kommun's new value
    kolada.delete("N15507", "0115", 2023)  # withdrawn
    kolada.redefine_kpi("N00097", title="Ny definition av N00097 (testdata)")
    kolada.set_group_members("G99001", ["0114", "0117"])  # 0120 leaves the peers


def test_second_refresh_fetches_only_the_changes_and_reports_them(
    prefect_harness, fakes, plan_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    kolada, _ = fakes
    warehouse = tmp_path / "w.duckdb"
    assert run(plan_file, warehouse) == 0
    first_id, first_end, *_ = last_run(warehouse)
    first_marts = marts(warehouse)
    first_history = query(warehouse, "SELECT count(*) FROM core.observation_history")[0][0]
    asked_before = len(kolada.data_requests())

    inject_changes(kolada)
    capsys.readouterr()
    assert run(plan_file, warehouse) == 0
    out = capsys.readouterr().out

    # Only the changes were asked for and loaded.
    asked = kolada.data_requests()[asked_before:]
    assert len(asked) == 1 and "from_date" in asked[0].query
    _, _, inserted, revised, unchanged, deleted, warnings = last_run(warehouse)
    assert (inserted, revised, unchanged, deleted) == (2, 1, 0, 1)

    # The history holds old and new; the current table holds only the new.
    versions = query(
        warehouse,
        "SELECT series_id, municipality_id, year, value, change, valid_to IS NULL"
        " FROM core.observation_history WHERE (series_id, municipality_id, year) IN"
        " (('N07403', '0115', 2024), ('N15507', '0115', 2023)) ORDER BY series_id, valid_from",
    )
    assert versions == [
        ("N07403", "0115", 2024, 400.0, "new", False),
        ("N07403", "0115", 2024, 700.0, "revised", True),
        ("N15507", "0115", 2023, 230.0, "new", False),
        ("N15507", "0115", 2023, None, "deleted", True),
    ]
    assert query(warehouse, "SELECT count(*) FROM core.observation_history")[0][0] == (
        first_history + 4
    )
    gone = "SELECT count(*) FROM core.observation WHERE series_id = 'N15507' AND year = 2023"
    assert query(warehouse, gone) == [(0,)]

    # As known when the first run ended, the marts are exactly what it reported.
    assert marts(warehouse) != first_marts
    assert marts(warehouse, first_end) == first_marts

    # The run says what changed for Vallentuna, and warns about the definitions.
    expected = [  # per goal (kvalitet, trygghet) and indicator, then the goals
        "N00097 2023 nytt 2; målvärde ej uppfyllt",
        "N15507 2023 borttaget (var 230); rang 1 → –; målvärde ej bedömbart → värde saknas",
        "N07403 2024 reviderat 400 → 700; rang 1 → 4; färg grön → röd;"
        " målvärde uppfyllt → ej uppfyllt",
        "mål kvalitet 2023: underlag saknas → ej uppfyllt",  # N00097 2023 is assessed now
        "mål trygghet 2024: uppfyllt → ej uppfyllt",
    ]
    for line in expected:
        assert line in out
    assert any(
        w.startswith("N00097: definitionen har ändrats (title: '") and "testplan (kvalitet)" in w
        for w in warnings
    ), warnings
    assert any(
        w.startswith("G99001: jämförelsegruppens medlemmar har ändrats (ut: 0120 Värmdö)")
        for w in warnings
    ), warnings

    # `malbild changes` lists exactly the injected changes, by default since the run before.
    capsys.readouterr()
    assert main(["changes", "--plan", str(plan_file), "--warehouse", str(warehouse)]) == 0
    listed = [line.strip() for line in capsys.readouterr().out.splitlines()[1:]]
    assert listed[: len(expected)] == expected
    assert main(["changes", "--plan", str(plan_file), "--warehouse", str(warehouse),
                 "--since", first_id, "--json"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)[0]
    assert {(r["series_id"], r["year"], r["change"]) for r in report["indicators"]} == {
        ("N07403", 2024, "reviderat"),
        ("N00097", 2023, "nytt"),
        ("N15507", 2023, "borttaget"),
    }
    assert {(r["kind"], r["id"], r["field"]) for r in report["definitions"]} == {
        ("kpi", "N00097", "title"),
        ("group", "G99001", "member"),
    }

    # A third refresh with nothing new asks once per query, writes nothing, says so.
    capsys.readouterr()
    assert run(plan_file, warehouse) == 0
    assert "inga ändringar" in capsys.readouterr().out
    # The overlap of a few days sends today's four changes again: identical, unchanged.
    assert last_run(warehouse)[2:6] == (0, 0, 4, 0)
    assert len(kolada.data_requests()) == asked_before + 2


def test_an_unknown_since_is_bad_input(
    prefect_harness, fakes, plan_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    warehouse = tmp_path / "w.duckdb"
    assert run(plan_file, warehouse) == 0
    base = ["changes", "--plan", str(plan_file), "--warehouse", str(warehouse)]
    assert main([*base, "--since", "no-such-run"]) == 2
    assert "no run with that id" in capsys.readouterr().err
    assert main(base) == 0  # one refresh only: nothing to compare with, said plainly
    assert "inget att jämföra med" in capsys.readouterr().out
    assert main([*base, "--since", "2000-01-01"]) == 0  # everything is new since then
    assert "nytt" in capsys.readouterr().out


def test_scb_series_is_fetched_again_only_when_its_table_is_updated(
    prefect_harness, fakes, tmp_path: Path
):
    _, scb = fakes
    plan = tmp_path / "scbplan.yaml"
    text = PLAN.replace("goals:", SCB_SERIES + "goals:") + SCB_GOAL
    gone = "      - {series: scb:gone, direction: higher}\n"
    plan.write_text(text.replace(gone, ""), encoding="utf-8")
    warehouse = tmp_path / "w.duckdb"
    value = (
        "SELECT value FROM core.observation WHERE series_id = 'scb:median_income'"
        " AND municipality_id = '0115' AND year = 2024"
    )

    assert run(plan, warehouse) == 0
    data_calls = len(scb.requests("POST", "/data"))
    first = query(warehouse, value)[0][0]
    assert data_calls >= 1

    assert run(plan, warehouse) == 0  # unchanged: the metadata call is all
    assert len(scb.requests("POST", "/data")) == data_calls

    scb.revise_table("TAB3554", updated="2030-01-01T07:00:00Z", scale=1.1)
    assert run(plan, warehouse) == 0
    assert len(scb.requests("POST", "/data")) == 2 * data_calls
    assert query(warehouse, value)[0][0] == pytest.approx(first * 1.1, rel=1e-3)


def test_vallentunas_plan_refreshed_again_unchanged_asks_once_per_query_and_table(
    prefect_harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """The example plan on the sample-data fakes (GENERATED values): the no-change
    refresh sends one request per Kolada query and SCB table, writes no observation and
    keeps the derived series, whose inputs it did not fetch."""
    from fakes.kolada_server import FakeKolada
    from fakes.sample_data import sample_kolada
    from fakes.scb_server import FakeScbServer

    plan = Path(__file__).resolve().parent.parent / "goals" / "vallentuna-2024-2026.yaml"
    warehouse = tmp_path / "w.duckdb"
    rows = "SELECT * EXCLUDE (run_id) FROM core.observation ORDER BY ALL"
    with FakeKolada(**sample_kolada()) as kolada, FakeScbServer() as scb:
        monkeypatch.setenv("MALBILD_KOLADA_URL", kolada.base_url)
        monkeypatch.setenv("MALBILD_SCB_URL", scb.base_url)
        assert run(plan, warehouse) == 0
        before = query(warehouse, rows)
        first_queries = {r.path for r in kolada.data_requests()}
        data_before, scb_before = len(kolada.data_requests()), len(scb.requests())
        capsys.readouterr()

        assert run(plan, warehouse) == 0

        kolada_data = kolada.data_requests()[data_before:]
        scb_calls = scb.requests()[scb_before:]
    assert "inga ändringar" in capsys.readouterr().out
    assert query(warehouse, rows) == before
    assert len(kolada_data) == len(first_queries)  # one page each: nothing changed
    assert {r.path for r in kolada_data} == first_queries
    assert all("from_date" in r.query for r in kolada_data)
    assert not [r for r in scb_calls if r.method == "POST"]  # no SCB data call
    metadata = [r.path for r in scb_calls if r.path.endswith("/metadata")]
    assert len(metadata) == len(set(metadata)) >= 3  # one per table
    derived = "SELECT count(*) FROM core.observation WHERE series_id = 'scb:dwellings_per_1000'"
    assert query(warehouse, derived)[0][0] > 0
    # Everything is new since 2000, and said to be generated sample values.
    since = ["changes", "--plan", str(plan), "--warehouse", str(warehouse), "--since", "2000-01-01"]
    assert main(since) == 0
    out = capsys.readouterr().out
    assert out.startswith("SAMPLE DATA") and " nytt " in out
    assert " färg – → grå" not in out  # a year without a value on either side is no change
