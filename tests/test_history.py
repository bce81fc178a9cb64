"""History and "as known at": the marts of a past load, reproduced after later revisions,
additions, deletions, a changed KPI title, changed group members and a changed plan."""

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from tests.warehouse_data import group_members, mart_batch, observations
from warehouse import queries
from warehouse.connection import open_warehouse
from warehouse.load import RefreshBatch, load_refresh

ORDER = {
    "goal_indicator_status": "plan_id, goal_id, indicator_id, municipality_id, year",
    "goal_summary": "plan_id, goal_id, municipality_id, year",
    "leaderboard": "plan_id, municipality_id, year",
}


def mart(
    con: duckdb.DuckDBPyConnection, name: str, at: datetime | None = None
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """A mart now (its view), or as known at ``at`` (its macro): columns and ordered rows."""
    source = f"mart.{name}" if at is None else f"mart.{name}_as_of($at)"
    result = con.execute(f"SELECT * FROM {source} ORDER BY {ORDER[name]}", {"at": at} if at else {})
    return [column[0] for column in result.description], result.fetchall()


def load_time(con: duckdb.DuckDBPyConnection, run_id: str) -> datetime:
    """When a run's versions began: the time a report of that run would be asked for."""
    found = con.execute(
        "SELECT max(valid_from) FROM core.observation_history WHERE run_id = ?", [run_id]
    ).fetchone()
    assert found and found[0] is not None
    return found[0]


def second_batch() -> RefreshBatch:
    """Revisions, an addition, a deletion, a new KPI title and a group that lost a member."""
    first = mart_batch()
    assert first.kpis is not None and first.plan is not None
    renamed = first.kpis.with_columns(
        title=pl.when(pl.col("id") == "N1").then(pl.lit("N1, ny definition")).otherwise("title")
    )
    plan = dict(first.plan)
    plan["goal_plan"] = plan["goal_plan"].with_columns(status_met_share=pl.lit(0.9))
    return RefreshBatch(
        "run-2",
        kpis=renamed,
        groups=first.groups,
        group_members=group_members([("G1", "0114"), ("G1", "0120")]),
        plan=plan,
        observations=observations(
            [
                ("N1", "0123", 2024, 3.0),  # revised: from first to last place
                ("N1", "0115", 2024, 40.0),  # revised: Vallentuna now first
                ("N1", "0125", 2025, 7.0),  # a new year
                ("N1", "0117", 2024, None, "T", True),  # deleted
            ]
        ),
    )


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    path: Path = tmp_path_factory.mktemp("history") / "warehouse.duckdb"
    with open_warehouse(path) as connection:
        load_refresh(connection, mart_batch())
        yield connection


def test_the_marts_of_a_past_load_are_reproduced_exactly(con: duckdb.DuckDBPyConnection) -> None:
    before = {name: mart(con, name) for name in ORDER}
    first_load = load_time(con, "run-mart")

    load_refresh(con, second_batch())

    after = {name: mart(con, name) for name in ORDER}
    assert after["goal_indicator_status"] != before["goal_indicator_status"]
    assert after["goal_summary"] != before["goal_summary"]  # the plan's met share changed
    for name in ORDER:
        assert before[name][1], name
        assert mart(con, name, first_load) == before[name], name
        assert mart(con, name, load_time(con, "run-2")) == after[name], name


def test_the_history_holds_old_and_new_versions(con: duckdb.DuckDBPyConnection) -> None:
    versions = con.sql(
        "SELECT municipality_id, year, value, change, valid_to IS NULL AS current"
        " FROM core.observation_history WHERE series_id = 'N1' AND gender = 'T'"
        " AND municipality_id IN ('0115', '0117', '0125') AND year IN (2024, 2025)"
        " ORDER BY municipality_id, year, valid_from"
    ).fetchall()
    assert versions == [
        ("0115", 2024, 20.0, "new", False),
        ("0115", 2024, 40.0, "revised", True),
        ("0117", 2024, 20.0, "new", False),
        ("0117", 2024, None, "deleted", True),
        ("0125", 2024, 1.0, "new", True),
        ("0125", 2025, 7.0, "new", True),
    ]
    titles = con.sql(
        "SELECT title, valid_to IS NULL FROM core.kpi_history WHERE id = 'N1' ORDER BY valid_from"
    ).fetchall()
    assert [current for _, current in titles] == [False, True]
    assert titles[1][0] == "N1, ny definition"
    members = con.sql(
        "SELECT member_id FROM core.municipality_group_member_history"
        " WHERE group_id = 'G1' AND valid_to IS NOT NULL"
    ).fetchall()
    assert members == [("0117",)]


def test_as_of_before_anything_was_loaded_is_empty(con: duckdb.DuckDBPyConnection) -> None:
    columns, rows = mart(con, "goal_summary", datetime(2000, 1, 1))
    assert "status" in columns and rows == []


def test_definition_and_membership_changes_are_listed_with_their_users(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rows = con.sql(
        "SELECT kind, id, field, old_value, new_value, used_by FROM mart.definition_changes"
        " ORDER BY kind, id"
    ).fetchall()
    assert [row[:5] for row in rows] == [
        ("group", "G1", "member", "0117 namn 0117", None),
        ("kpi", "N1", "title", "Kolada-titel N1", "N1, ny definition"),
    ]
    assert all(row[5] and "p (" in row[5] for row in rows)
    since = queries.read_definition_changes(con, datetime(2000, 1, 1), "p")
    assert since["id"].to_list() == ["N1", "G1"]
    assert queries.read_definition_changes(con, load_time(con, "run-2"), "p").is_empty()


def test_peer_values_say_since_when_their_members_hold(con: duckdb.DuckDBPyConnection) -> None:
    found = con.execute(
        "SELECT DISTINCT peer_members_since FROM mart.goal_indicator_status"
        " WHERE plan_id = 'p' AND peer_group_id = 'G1'"
    ).fetchall()
    assert found == [(load_time(con, "run-2"),)]  # 0117 left in the second load


def test_changes_name_value_rank_colour_and_goal_status(con: duckdb.DuckDBPyConnection) -> None:
    since = load_time(con, "run-mart")
    changes = queries.read_changes(con, "p", "0115", since).filter(pl.col("year") == 2024)
    assert set(changes["change"].to_list()) == {"reviderat"}
    revised = changes.row(0, named=True)
    assert (revised["old_value"], revised["new_value"]) == (20.0, 40.0)
    assert (revised["old_rank"], revised["new_rank"]) == (2, 1)
    goals = queries.read_goal_changes(con, "p", "0115", since)
    assert goals.height >= 1 and (goals["old_status"] != goals["new_status"]).all()
