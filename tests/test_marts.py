"""The marts on a hand-computed case (tests/warehouse_data.py: mart_batch).

N1 in 2024, gender T: 0123=30, 0115=20, 0117=20, 0114=10, 0120=5, 0125=1; 0127 is deleted.
Higher is better, so ranks are 1, 2, 2, 4, 5, 6 with six ranked; a quarter is ceil(6/4)=2:
green ranks 1-2, red ranks 5-6, yellow between. Riket 15, county (0001) 12, peers
(G1: 0114, 0117, 0120) (10+20+5)/3.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from tests.warehouse_data import mart_batch
from warehouse.connection import open_warehouse
from warehouse.load import MartsStaleError, load_refresh
from warehouse.queries import read_goal_indicator_status, read_goal_summary


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    path: Path = tmp_path_factory.mktemp("marts") / "warehouse.duckdb"
    with open_warehouse(path) as connection:
        load_refresh(connection, mart_batch())
        yield connection


def status_row(
    con: duckdb.DuckDBPyConnection, indicator_id: str, area: str, year: int, plan: str = "p"
) -> dict[str, Any]:
    frame = read_goal_indicator_status(con, plan, area, year).filter(indicator_id=indicator_id)
    assert frame.height == 1
    return frame.row(0, named=True)


def summary_row(
    con: duckdb.DuckDBPyConnection, goal_id: str, area: str, year: int, plan: str = "p"
) -> dict[str, Any]:
    frame = read_goal_summary(con, plan, area, year).filter(goal_id=goal_id)
    assert frame.height == 1
    return frame.row(0, named=True)


def test_ties_share_a_rank_and_skip_the_next(con: duckdb.DuckDBPyConnection) -> None:
    frame = read_goal_indicator_status(con, "p", year=2024).filter(indicator_id="a_high")
    ranks = dict(zip(frame["municipality_id"], frame["rank"], strict=True))
    assert ranks == {
        "0123": 1,
        "0115": 2,
        "0117": 2,
        "0114": 4,
        "0120": 5,
        "0125": 6,
        "0127": None,
        "0380": None,
    }
    assert set(frame["ranked_count"]) == {6}


def test_colours_by_quarter_of_ranked(con: duckdb.DuckDBPyConnection) -> None:
    frame = read_goal_indicator_status(con, "p", year=2024).filter(indicator_id="a_high")
    colours = dict(zip(frame["municipality_id"], frame["colour"], strict=True))
    assert colours == {
        "0123": "green",
        "0115": "green",
        "0117": "green",
        "0114": "yellow",
        "0120": "red",
        "0125": "red",
        "0127": "grey",
        "0380": "grey",
    }


def test_deleted_and_other_gender_values_are_no_value(con: duckdb.DuckDBPyConnection) -> None:
    assert status_row(con, "a_high", "0127", 2024)["value"] is None
    assert status_row(con, "a_high", "0115", 2024)["value"] == 20.0


def test_lower_is_better_ranks_smallest_first_and_fewer_than_four_is_grey(
    con: duckdb.DuckDBPyConnection,
) -> None:
    frame = read_goal_indicator_status(con, "p", year=2024).filter(indicator_id="a_low")
    ranked = frame.filter(frame["rank"].is_not_null())
    assert dict(zip(ranked["municipality_id"], ranked["rank"], strict=True)) == {
        "0114": 1,
        "0117": 2,
        "0115": 3,
    }
    assert set(frame["colour"]) == {"grey"}


def test_no_direction_is_grey_and_unranked(con: duckdb.DuckDBPyConnection) -> None:
    row = status_row(con, "a_none", "0115", 2024)
    assert (row["rank"], row["ranked_count"], row["colour"]) == (None, None, "grey")
    assert row["kpi_title"] == "Egen titel"


def test_kpi_title_falls_back_to_kolada(con: duckdb.DuckDBPyConnection) -> None:
    assert status_row(con, "a_high", "0115", 2024)["kpi_title"] == "Kolada-titel N1"


def test_riket_county_and_peer_values(con: duckdb.DuckDBPyConnection) -> None:
    own = status_row(con, "a_high", "0115", 2024)
    assert (own["riket_value"], own["county_value"]) == (15.0, 12.0)
    assert own["peer_value"] == pytest.approx(35 / 3)
    assert own["peer_basis"].startswith("medel av gruppens medlemmar (ovägt)")
    # Every kommun has its own comparison: Upplands Väsby is a member of G1, so its peers
    # are the other members with a value, 0117 (20) and 0120 (5).
    other = status_row(con, "a_high", "0114", 2024)
    assert (other["riket_value"], other["county_value"], other["peer_value"]) == (15.0, 12.0, 12.5)
    assert other["peer_group_id"] == "G1"
    assert other["peer_basis"].endswith("2 av 2 med värde, utan området självt")


def test_a_kommun_in_another_county_gets_that_countys_value(
    con: duckdb.DuckDBPyConnection,
) -> None:
    uppsala = status_row(con, "a_none", "0380", 2024)
    assert (uppsala["county_id"], uppsala["county_value"]) == ("0003", 10.0)
    assert uppsala["target_met"] is False  # 9 < Region Uppsala's 10
    assert status_row(con, "a_none", "0115", 2024)["county_id"] == "0001"


@pytest.mark.parametrize(
    ("area", "group", "peer_value", "target_result"),
    [
        ("0115", "G10", 15.0, "uppfyllt"),  # Vallentuna's own group: 0114 10, 0117 20
        ("0114", "G11", 12.5, "ej uppfyllt"),  # Upplands Väsby's: 0115 20, 0120 5; 10 < 12.5
        ("0117", None, None, "ej bedömbart"),  # Österåker has no group of the family
    ],
)
def test_each_kommun_is_compared_with_its_own_group_of_the_plans_family(
    con: duckdb.DuckDBPyConnection,
    area: str,
    group: str | None,
    peer_value: float | None,
    target_result: str,
) -> None:
    row = status_row(con, "f_peers", area, 2024, plan="f")
    assert (row["peer_group_id"], row["peer_value"], row["target_result"]) == (
        group,
        peer_value,
        target_result,
    )


def test_a_goal_resting_on_no_assessable_indicator_has_no_status(
    con: duckdb.DuckDBPyConnection,
) -> None:
    row = summary_row(con, "f", "0117", 2024, plan="f")
    assert (row["status"], row["status_basis"], row["targets_not_assessable"]) == (
        "underlag saknas",
        "bedömt på 0 av 1 indikatorer",
        1,
    )


def test_change_from_previous_year_and_latest(con: duckdb.DuckDBPyConnection) -> None:
    frame = (
        read_goal_indicator_status(con, "p", "0115")
        .filter(indicator_id="a_high")
        .sort("year")
        .select("year", "value", "change_from_previous_year", "is_latest")
    )
    assert frame.rows() == [
        (2022, 17.0, None, False),
        (2023, 18.0, 1.0, False),
        (2024, 20.0, 2.0, True),
        (2025, None, None, False),
    ]


def test_years_before_from_year_are_not_comparable(con: duckdb.DuckDBPyConnection) -> None:
    before = status_row(con, "c_from", "0115", 2023)
    assert before["value"] is None
    assert before["unavailable_reason"] == "ej jämförbart före 2024"
    first = status_row(con, "c_from", "0115", 2024)
    assert (first["value"], first["change_from_previous_year"]) == (20.0, None)


def test_rows_cover_every_kommun_and_the_year_before(con: duckdb.DuckDBPyConnection) -> None:
    frame = read_goal_indicator_status(con, "p").filter(indicator_id="a_low")
    assert sorted(set(frame["municipality_id"])) == [
        "0114",
        "0115",
        "0117",
        "0120",
        "0123",
        "0125",
        "0127",
        "0380",
    ]
    assert sorted(set(frame["year"])) == [2023, 2024, 2025]


def test_region_plan_ranks_regions_only(con: duckdb.DuckDBPyConnection) -> None:
    frame = read_goal_indicator_status(con, "r", year=2024)
    assert frame.select("municipality_id", "rank", "ranked_count", "colour").sort(
        "municipality_id"
    ).rows() == [("0001", 1, 2, "grey"), ("0003", 2, 2, "grey")]


@pytest.mark.parametrize(
    ("indicator_id", "area", "expected"),
    [
        ("a_low", "0115", False),  # value 6, target <= 5 (lower: default operator)
        ("a_low", "0117", True),  # value 5
        ("a_none", "0115", True),  # 7 >= county 7 (no direction: the plan's operator)
        ("b_rank", "0115", True),  # rank 2 <= 2
        ("b_rank", "0114", False),  # rank 4
        ("b_colour", "0114", True),  # yellow is enough for a yellow target
        ("b_colour", "0120", False),  # red
        ("b_riket", "0115", True),  # 20 >= 15
        ("b_riket", "0114", False),  # 10 < 15
        ("b_peers", "0115", True),  # 20 >= 11.67
        ("b_peers", "0114", False),  # 10 < 12.5, G1's other members with a value
        ("a_high", "0115", None),  # no target
        ("b_rank", "0127", None),  # no value
    ],
)
def test_target_met_by_kind(
    con: duckdb.DuckDBPyConnection, indicator_id: str, area: str, expected: bool | None
) -> None:
    assert status_row(con, indicator_id, area, 2024)["target_met"] is expected


def test_target_text_and_source(con: duckdb.DuckDBPyConnection) -> None:
    row = status_row(con, "a_low", "0115", 2024)
    assert (row["target"], row["source"]) == ("högst 5", "Källa: Kolada")


def test_values_loaded_as_sample_data_say_so_in_the_source(tmp_path: Path) -> None:
    batch = mart_batch()
    assert batch.observations is not None
    batch.observations = batch.observations.with_columns(source=pl.lit("sample"))
    with open_warehouse(tmp_path / "demo.duckdb") as demo:
        load_refresh(demo, batch)
        sources = set(read_goal_indicator_status(demo, "p")["source"])
    assert sources == {"Exempeldata: genererade värden, inte statistik"}


def test_summary_counts(con: duckdb.DuckDBPyConnection) -> None:
    row = summary_row(con, "a", "0115", 2024)
    counts = {k: row[k] for k in ("indicators", "with_value", "green", "yellow", "red", "grey")}
    assert counts == {
        "indicators": 3,
        "with_value": 3,
        "green": 1,
        "yellow": 0,
        "red": 0,
        "grey": 2,
    }
    assert (row["targets_met"], row["targets_missed"], row["assessed"], row["met"]) == (1, 1, 3, 2)


@pytest.mark.parametrize(
    ("goal_id", "area", "status"),
    [
        ("a", "0115", "uppfyllt"),  # 2 of 3 met >= the plan's 0.6
        ("b", "0115", "uppfyllt"),  # 4 of 4
        ("b", "0114", "ej uppfyllt"),  # 1 of 4 met (colour) < 0.3
        ("b", "0120", "ej uppfyllt"),  # 0 of 3
        ("b", "0127", "underlag saknas"),  # no value at all
        ("c", "0115", "underlag saknas"),  # 1 of 3 with a value < 0.5 coverage
    ],
)
def test_summary_status_thresholds(
    con: duckdb.DuckDBPyConnection, goal_id: str, area: str, status: str
) -> None:
    assert summary_row(con, goal_id, area, 2024)["status"] == status


def test_every_mart_column_is_documented(con: duckdb.DuckDBPyConnection) -> None:
    columns = con.execute(
        "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'mart'"
    ).fetchall()
    views = {table for table, _, _ in columns} - {"goal_indicator_status_base"}
    assert views == {"goal_indicator_status", "goal_summary", "leaderboard", "definition_changes"}
    undocumented = [(t, c) for t, c, comment in columns if t in views and not comment]
    assert undocumented == []


def test_marts_are_rebuilt_by_a_load_that_changes_data_and_only_then(tmp_path: Path) -> None:
    count = "SELECT count(*) FROM mart.goal_indicator_status"
    with open_warehouse(tmp_path / "w.duckdb") as warehouse:
        load_refresh(warehouse, mart_batch())
        first = warehouse.sql(count).fetchone()
        warehouse.execute("DELETE FROM mart.goal_indicator_status_base")

        load_refresh(warehouse, mart_batch())
        unchanged = warehouse.sql(count).fetchone()

        revised = mart_batch()
        assert revised.observations is not None
        revised.observations = revised.observations.with_columns(pl.col("value") + 1)
        load_refresh(warehouse, revised)
        again = warehouse.sql(count).fetchone()
    assert first is not None and first[0] > 0
    assert unchanged == (0,)  # nothing changed: the marts were left as they were
    assert again == first


def test_a_failed_mart_rebuild_keeps_the_data_and_the_next_open_rebuilds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "w.duckdb"

    def broken(con: duckdb.DuckDBPyConnection) -> None:
        raise RuntimeError("injected mart failure")

    monkeypatch.setattr("warehouse.load.rebuild_marts", broken)
    with open_warehouse(path) as warehouse, pytest.raises(MartsStaleError) as failure:
        load_refresh(warehouse, mart_batch())
    assert failure.value.counts.inserted > 0
    with open_warehouse(path, read_only=True) as reader:
        loaded = reader.sql("SELECT count(*) FROM core.observation").fetchone()
        stale = reader.sql("SELECT count(*) FROM mart.goal_indicator_status").fetchone()
    assert loaded is not None and loaded[0] == failure.value.counts.inserted
    assert stale == (0,)

    monkeypatch.undo()
    with open_warehouse(path) as writer:
        rebuilt = writer.sql("SELECT count(*) FROM mart.goal_indicator_status").fetchone()
        marks = writer.sql(
            "SELECT count(*) FROM core.warehouse_info WHERE key = 'marts_stale'"
        ).fetchone()
    assert rebuilt is not None and rebuilt[0] > 0
    assert marks == (0,)


def test_leaderboard_ranks_areas_whose_every_goal_has_a_basis(
    con: duckdb.DuckDBPyConnection,
) -> None:
    board = {
        row[0]: row[1:]
        for row in con.execute(
            "SELECT municipality_id, rank, goals_without_basis, met_share, coverage"
            " FROM mart.leaderboard WHERE plan_id = 'p' AND year = 2024"
        ).fetchall()
    }
    # Goal c lacks a basis everywhere (N4 and N5 have no values), so no area is ranked,
    # and every area is still listed with its coverage.
    assert {area: rank for area, (rank, *_) in board.items()} == dict.fromkeys(board)
    assert board["0115"][1] == 1
    assert board["0115"][3] == pytest.approx((3 + 4 + 1) / (3 + 4 + 3))


def test_leaderboard_ranks_by_the_share_of_assessed_indicators_met(
    con: duckdb.DuckDBPyConnection,
) -> None:
    board = con.execute(
        "SELECT municipality_id, rank, met_share FROM mart.leaderboard"
        " WHERE plan_id = 'f' AND year = 2024 AND rank IS NOT NULL ORDER BY rank"
    ).fetchall()
    assert board == [("0115", 1, 1.0), ("0114", 2, 0.0)]
