"""End to end: `malbild run` against the fake Kolada and SCB servers, checked in the warehouse.

The values below are TEST DATA, chosen so ranks, colours and goal status can be worked
out by hand; the KPI records, areas and SCB table metadata are real.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from fakes.kolada_server import FakeKolada
from fakes.sample_data import load_kpi_catalogue, load_municipalities
from fakes.scb_server import FakeScbServer
from flows.cli import main
from tests.warehouse_data import held_by_another_process

pytestmark = pytest.mark.e2e

KPIS = ("N15507", "N07403", "N00097")
PEERS = {"id": "G99001", "title": "Testgrupp (testdata)", "members": []}
PEER_MEMBERS = ("0114", "0117", "0120")

# (kpi, area, year) -> value, gender T. TEST DATA.
VALUES: dict[tuple[str, str, int], float] = {
    # N15507, higher is better. 2024 kommuner: 0117 250, 0115 240, 0180 240, 0120 230,
    # 0114 220, 1280 200 -> ranks 1, 2, 2, 4, 5, 6; n = 6, ceil(6/4) = 2.
    ("N15507", "0114", 2024): 220.0,
    ("N15507", "0115", 2024): 240.0,
    ("N15507", "0117", 2024): 250.0,
    ("N15507", "0120", 2024): 230.0,
    ("N15507", "0180", 2024): 240.0,
    ("N15507", "1280", 2024): 200.0,
    ("N15507", "0115", 2023): 230.0,
    ("N15507", "0000", 2024): 225.0,
    ("N15507", "0001", 2024): 235.0,
    # N07403, lower is better. 2024: 0115 400, 0117 450, 0114 500, 0120 600, 0180 900
    # -> ranks 1..5; n = 5, ceil(5/4) = 2.
    ("N07403", "0114", 2024): 500.0,
    ("N07403", "0115", 2024): 400.0,
    ("N07403", "0117", 2024): 450.0,
    ("N07403", "0120", 2024): 600.0,
    ("N07403", "0180", 2024): 900.0,
    ("N07403", "0001", 2024): 420.0,
    # N00097 has no direction: grey, target "at most 0" missed.
    ("N00097", "0115", 2024): 1.5,
}

PLAN = """
plan:
  id: testplan
  title: Testplan (testdata)
  municipality: "0115"
  county: "0001"
  years: 2024-2024
comparisons:
  group: G99001
goals:
  - id: kvalitet
    title: Kvalitet
    indicators:
      - {kpi: N15507, direction: higher, target: {compare: peers}}
      - {kpi: N00097, direction: none, target: {value: 0, op: "<="}}
  - id: trygghet
    title: Trygghet
    indicators:
      - {kpi: N07403, direction: lower, target: {compare: county}}
"""

SCB_SERIES = """
series:
  scb:median_income:
    title: Medianinkomst 20-64 år (testplan)
    scb:
      - {table: TAB3554, content: HE0110J8, select: {Alder: "20-64"}}
  scb:gone:
    title: En tabell som SCB inte har
    scb:
      - {table: TAB9999, content: XX0101A1}
"""

SCB_GOAL = """
  - id: tillvaxt
    title: Tillväxt
    indicators:
      - {series: scb:median_income, direction: higher}
      - {series: scb:gone, direction: higher}
"""

DATA_TABLES = (
    "core.observation",
    "core.kpi",
    "core.municipality",
    "core.municipality_group",
    "core.municipality_group_member",
    "core.goal_plan",
    "core.goal",
    "core.goal_indicator",
)


def kolada_fake(test_values: dict[tuple[str, str, int], float] = VALUES) -> FakeKolada:
    catalogue = [kpi for kpi in load_kpi_catalogue() if kpi["id"] in KPIS]
    municipalities = load_municipalities()
    titles = {area["id"]: area["title"] for area in municipalities}
    groups = [
        {
            **PEERS,
            "members": [{"member_id": m, "member_title": titles[m]} for m in PEER_MEMBERS],
        }
    ]
    values = {
        key: [{"gender": "T", "count": 1, "status": "", "value": value, "isdeleted": False}]
        for key, value in test_values.items()
    }
    # Hand-written test values, not generated sample values: no sample-data header.
    return FakeKolada(catalogue, municipalities, groups, values, sample_data=False)


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeKolada, FakeScbServer]]:
    with kolada_fake() as kolada, FakeScbServer(sample_data=False) as scb:
        monkeypatch.setenv("MALBILD_KOLADA_URL", kolada.base_url)
        monkeypatch.setenv("MALBILD_SCB_URL", scb.base_url)
        yield kolada, scb


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "testplan.yaml"
    path.write_text(PLAN, encoding="utf-8")
    return path


def run(plan: Path, warehouse: Path, *extra: str) -> int:
    return main(["run", "--plan", str(plan), "--warehouse", str(warehouse), *extra])


def query(warehouse: Path, sql: str, *params: object) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    """Every data table's rows, sorted (the run log and raw.response are not data)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            # loaded_at says when, not what: a rebuild loads the same plan at another time.
            table: sorted(con.sql(f"SELECT * EXCLUDE (loaded_at) FROM {table}").fetchall())
            if table == "core.goal_plan"
            else sorted(con.sql(f"SELECT * FROM {table}").fetchall())
            for table in DATA_TABLES
        }


def status_row(warehouse: Path, indicator: str, municipality: str = "0115", year: int = 2024):
    rows = query(
        warehouse,
        "SELECT value, riket_value, county_value, peer_value, change_from_previous_year, rank,"
        " ranked_count, colour, target, target_met, is_latest, source"
        " FROM mart.goal_indicator_status"
        " WHERE indicator_id = ? AND municipality_id = ? AND year = ?",
        indicator,
        municipality,
        year,
    )
    assert len(rows) == 1, rows
    return rows[0]


def test_run_computes_ranks_colours_targets_and_goal_status(
    prefect_harness, fakes, plan_file: Path, tmp_path: Path
):
    warehouse = tmp_path / "w.duckdb"

    assert run(plan_file, warehouse) == 0

    observations = query(
        warehouse,
        "SELECT series_id, municipality_id, year, gender, value FROM core.observation ORDER BY ALL",
    )
    assert len(observations) == len(VALUES)
    assert ("N15507", "0115", 2024, "T", 240.0) in observations

    value, riket, county, peer, change, rank, n, colour, target, met, latest, source = status_row(
        warehouse, "N15507"
    )
    assert target == "minst som jämförelsegruppen"
    assert (value, riket, county, change) == (240.0, 225.0, 235.0, 10.0)
    assert peer == pytest.approx((220 + 250 + 230) / 3)
    assert (rank, n, colour, met, latest, source) == (2, 6, "green", True, True, "Källa: Kolada")

    ranks = dict(
        query(
            warehouse,
            "SELECT municipality_id, rank || ' ' || colour FROM mart.goal_indicator_status"
            " WHERE indicator_id = 'N15507' AND year = 2024 AND value IS NOT NULL",
        )
    )
    assert ranks == {
        "0117": "1 green",
        "0115": "2 green",
        "0180": "2 green",
        "0120": "4 yellow",
        "0114": "5 red",
        "1280": "6 red",
    }

    violence = status_row(warehouse, "N07403")
    assert violence[5:10] == (1, 5, "green", "högst som länet", True)
    assert status_row(warehouse, "N07403", "0120")[5:8] == (4, 5, "red")
    assert status_row(warehouse, "N07403", "0114")[5:8] == (3, 5, "yellow")

    cost = status_row(warehouse, "N00097")
    assert (cost[5], cost[7], cost[9]) == (None, "grey", False)

    summary = dict(
        query(
            warehouse,
            "SELECT goal_id, status FROM mart.goal_summary"
            " WHERE municipality_id = '0115' AND year = 2024",
        )
    )
    # kvalitet: N15507 met, N00097 missed -> 1 of 2 -> delvis; trygghet: 1 of 1.
    assert summary == {"kvalitet": "delvis uppfyllt", "trygghet": "uppfyllt"}

    run_log = query(
        warehouse,
        "SELECT status, rows_inserted, requests_made FROM core.run WHERE kind = 'refresh'",
    )
    assert run_log == [("succeeded", len(VALUES), run_log[0][2])]
    assert run_log[0][2] >= 4  # catalogue (3) + at least one data page


def test_every_kommun_gets_its_own_comparisons_and_goal_status(
    prefect_harness, fakes, plan_file: Path, tmp_path: Path
):
    warehouse = tmp_path / "w.duckdb"
    assert run(plan_file, warehouse) == 0

    def comparison(indicator: str, area: str) -> tuple:
        rows = query(
            warehouse,
            "SELECT county_id, county_value, peer_group_id, peer_value, target_met, target_result"
            " FROM mart.goal_indicator_status"
            " WHERE indicator_id = ? AND municipality_id = ? AND year = 2024",
            indicator,
            area,
        )
        assert len(rows) == 1
        return rows[0]

    def status(area: str) -> dict[str, str]:
        return dict(
            query(
                warehouse,
                "SELECT goal_id, status FROM mart.goal_summary"
                " WHERE municipality_id = ? AND year = 2024",
                area,
            )
        )

    # Upplands Väsby (0114) is a member of the plan's group G99001 (0114, 0117, 0120): its
    # peers are the other two, (250 + 230) / 2 = 240, and its 220 misses "at least peers".
    county, county_value, group, peers, met, result = comparison("N15507", "0114")
    assert (county, county_value, group, met, result) == (
        "0001",
        235.0,
        "G99001",
        False,
        "ej uppfyllt",
    )
    assert peers == pytest.approx(240.0)
    # Stockholm (0180) is no member: all three, (220 + 250 + 230) / 3; its 240 is above.
    assert comparison("N15507", "0180")[3:5] == (pytest.approx(700 / 3), True)
    # Its N07403, 900, is not at most Region Stockholm's 420.
    assert comparison("N07403", "0180")[4] is False
    # Malmö (1280) is compared with Region Skåne (0012), which has no value: not assessable.
    assert comparison("N15507", "1280")[:2] == ("0012", None)
    # kvalitet rests on N15507 alone (no N00097 outside Vallentuna): 1 of 2 assessed is
    # the plan's minimum coverage; trygghet on N07403.
    assert status("0180") == {"kvalitet": "uppfyllt", "trygghet": "ej uppfyllt"}
    assert status("0114") == {"kvalitet": "ej uppfyllt", "trygghet": "ej uppfyllt"}
    # Malmö has no N07403 at all: no basis for trygghet rather than "ej uppfyllt".
    assert status("1280") == {"kvalitet": "ej uppfyllt", "trygghet": "underlag saknas"}


def test_second_run_leaves_every_data_table_unchanged(
    prefect_harness, fakes, plan_file: Path, tmp_path: Path
):
    warehouse = tmp_path / "w.duckdb"
    kolada, _ = fakes
    assert run(plan_file, warehouse) == 0
    before = snapshot(warehouse)
    first_requests = len(kolada.data_requests())

    assert run(plan_file, warehouse) == 0  # incremental: Kolada has nothing new
    assert run(plan_file, warehouse, "--full") == 0  # everything again, all identical

    assert snapshot(warehouse) == before
    runs = query(
        warehouse,
        "SELECT rows_inserted, rows_updated, rows_unchanged, rows_deleted FROM core.run"
        " WHERE kind = 'refresh' ORDER BY started_at",
    )
    assert runs == [(len(VALUES), 0, 0, 0), (0, 0, 0, 0), (0, 0, len(VALUES), 0)]
    second, full = kolada.data_requests()[first_requests:]
    assert "from_date" in second.query and "from_date" not in full.query


def test_crash_mid_load_leaves_the_warehouse_as_it_was(
    prefect_harness, fakes, plan_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    warehouse = tmp_path / "w.duckdb"
    assert run(plan_file, warehouse) == 0
    before = snapshot(warehouse)
    history = query(warehouse, "SELECT count(*) FROM core.observation_history")
    kolada, _ = fakes
    kolada.revise("N15507", "0115", 2024, [{"value": 999.0}])  # a change the crash must not leave

    def crash(con, batch):
        raise RuntimeError("injected crash after the observation merge")

    monkeypatch.setattr("warehouse.load._record_responses", crash)

    assert run(plan_file, warehouse) == 1

    assert snapshot(warehouse) == before
    assert query(warehouse, "SELECT count(*) FROM core.observation_history") == history
    assert query(
        warehouse,
        "SELECT count(*) FROM core.fetch_state WHERE run_id IN"
        " (SELECT run_id FROM core.run WHERE status = 'failed')",
    ) == [(0,)]
    last = query(warehouse, "SELECT status, error FROM core.run ORDER BY started_at DESC LIMIT 1")
    assert last[0][0] == "failed"
    assert "injected crash" in last[0][1]

    # The failed run moved no fetch state: the next run asks from the last good one's
    # date and gets the change.
    monkeypatch.undo()  # the crash, and the fakes' addresses with it
    monkeypatch.setenv("MALBILD_KOLADA_URL", kolada.base_url)
    monkeypatch.setenv("MALBILD_SCB_URL", fakes[1].base_url)
    assert run(plan_file, warehouse) == 0
    assert status_row(warehouse, "N15507")[0] == 999.0


def test_plan_with_unknown_kpi_exits_2_and_writes_no_data(
    prefect_harness, fakes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    bad = tmp_path / "bad.yaml"
    bad.write_text(PLAN.replace("N00097", "N99999"), encoding="utf-8")
    warehouse = tmp_path / "w.duckdb"

    assert run(bad, warehouse) == 2

    error = capsys.readouterr().err
    assert "bad.yaml" in error and "N99999" in error
    assert query(warehouse, "SELECT count(*) FROM core.observation") == [(0,)]
    assert query(warehouse, "SELECT count(*) FROM core.kpi") == [(0,)]
    assert query(warehouse, "SELECT status FROM core.run") == [("refused",)]
    assert len(fakes[0].data_requests()) == 0


def test_warehouse_held_by_another_process_is_reported_not_traced(
    prefect_harness, fakes, plan_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    warehouse = tmp_path / "w.duckdb"
    with held_by_another_process(warehouse):
        assert run(plan_file, warehouse) == 1

    error = capsys.readouterr().err
    assert "in use by another process" in error
    assert "Traceback" not in error


def test_rebuild_from_the_raw_landing_reproduces_the_warehouse(
    prefect_harness, fakes, plan_file: Path, tmp_path: Path
):
    warehouse = tmp_path / "w.duckdb"
    assert run(plan_file, warehouse) == 0
    kolada, _ = fakes
    kolada.stop()  # no network from here on

    rebuilt = tmp_path / "rebuilt.duckdb"
    code = main(["rebuild", "--warehouse", str(rebuilt), "--raw-dir", str(tmp_path / "raw")])

    assert code == 0
    assert snapshot(rebuilt) == snapshot(warehouse)
    mart = "SELECT * FROM mart.goal_indicator_status ORDER BY ALL"
    assert query(rebuilt, mart) == query(warehouse, mart)
    # The replay's versions keep the run's time, so "as known at" answers the same.
    history = "SELECT * FROM core.observation_history ORDER BY ALL"
    assert query(rebuilt, history) == query(warehouse, history)


def test_scb_indicator_is_ranked_and_a_missing_table_leaves_it_unavailable(
    prefect_harness, fakes, tmp_path: Path
):
    plan = tmp_path / "scb.yaml"
    plan.write_text(PLAN.replace("goals:", SCB_SERIES + "goals:") + SCB_GOAL, encoding="utf-8")
    warehouse = tmp_path / "w.duckdb"
    scb = fakes[1]

    assert run(plan, warehouse, "--years", "2022-2023") == 0

    assert len(scb.requests("GET", "/config")) == 1
    assert scb.refused() == []

    income = dict(
        query(
            warehouse,
            "SELECT o.municipality_id, o.value FROM core.observation o"
            " JOIN core.municipality m ON m.id = o.municipality_id AND m.type = 'K'"
            " WHERE o.series_id = 'scb:median_income' AND o.year = 2023 AND o.gender = 'T'"
            " AND o.value IS NOT NULL",
        )
    )
    assert len(income) > 280  # every kommun but those SCB marks missing
    expected_rank = 1 + sum(value > income["0115"] for value in income.values())
    quarter = math.ceil(len(income) / 4)
    expected_colour = (
        "green"
        if expected_rank <= quarter
        else "red"
        if expected_rank > len(income) - quarter
        else "yellow"
    )
    row = status_row(warehouse, "scb:median_income", year=2023)
    assert row[5:8] == (expected_rank, len(income), expected_colour)
    assert row[11] == "Källa: SCB"

    gone = query(
        warehouse,
        "SELECT DISTINCT unavailable_reason FROM mart.goal_indicator_status"
        " WHERE indicator_id = 'scb:gone'",
    )
    assert len(gone) == 1 and "TAB9999" in gone[0][0] and "Non-existent table" in gone[0][0]
    warnings = query(warehouse, "SELECT warnings FROM core.run WHERE kind = 'refresh'")[0][0]
    assert any("scb:gone" in warning for warning in warnings)

    started = time.monotonic()
    assert run(plan, warehouse, "--years", "2022-2023", "--strict") == 1
    assert time.monotonic() - started < 120


def test_demo_labels_everything_as_sample_data_even_after_a_rebuild(
    demo_warehouse: Path, tmp_path: Path
):
    warehouse = demo_warehouse
    raw = warehouse.parent / "raw"
    rebuilt = tmp_path / "rebuilt.duckdb"
    assert main(["rebuild", "--warehouse", str(rebuilt), "--raw-dir", str(raw)]) == 0

    sample = "Exempeldata: genererade värden, inte statistik"
    for path in (warehouse, rebuilt):
        assert query(path, "SELECT DISTINCT source FROM mart.goal_indicator_status") == [(sample,)]
        assert query(path, "SELECT DISTINCT source FROM core.observation") == [("sample",)]
        assert query(path, "SELECT DISTINCT attribution FROM core.series") == [(sample,)]
