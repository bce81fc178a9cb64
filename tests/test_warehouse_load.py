"""Loading a refresh: merge counts, idempotence, all-or-nothing, the run log and the file lock."""

from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest

import warehouse.load
from tests.warehouse_data import (
    group_members,
    groups,
    held_by_another_process,
    mart_batch,
    municipalities,
    observations,
)
from warehouse.connection import WarehouseLockedError, open_warehouse
from warehouse.load import RefreshBatch, load_refresh
from warehouse.queries import read_responses_for_run, read_runs
from warehouse.run_log import record_run_end, record_run_start

DATA_TABLES = (
    "raw.response",
    "core.kpi",
    "core.municipality",
    "core.municipality_group",
    "core.municipality_group_member",
    "core.observation",
    "core.goal_plan",
    "core.goal",
    "core.goal_indicator",
    "core.series",
)

MANIFEST_LINE = {
    "run_id": "run-1",
    "source": "kolada",
    "kind": "data",
    "method": "GET",
    "url": "http://127.0.0.1/v3/data/kpi/N1",
    "request_body": None,
    "fetched_at": "2025-03-01T10:00:00+00:00",
    "status": 200,
    "content_hash": "f" * 64,
    "bytes": 123,
}


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with open_warehouse(tmp_path / "warehouse.duckdb") as connection:
        yield connection


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Every data table's rows, as comparable text."""
    return {table: sorted(map(repr, con.sql(f"FROM {table}").fetchall())) for table in DATA_TABLES}


def observation_rows(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, int], tuple[object, str]]:
    rows = con.execute(
        "SELECT municipality_id, year, value, run_id FROM core.observation"
    ).fetchall()
    return {(area, year): (value, run_id) for area, year, value, run_id in rows}


def test_new_changed_and_identical_rows_are_counted(con: duckdb.DuckDBPyConnection) -> None:
    first = [("N1", "0114", 2024, 1.0), ("N1", "0115", 2024, 2.0), ("N1", "0117", 2024, None)]
    load_refresh(con, RefreshBatch(run_id="run-1", observations=observations(first)))

    second = [
        ("N1", "0114", 2024, 1.0),  # identical
        ("N1", "0115", 2024, 2.5),  # changed
        ("N1", "0117", 2024, None),  # identical null: null-safe comparison
        ("N1", "0120", 2024, 4.0),  # new
    ]
    counts = load_refresh(con, RefreshBatch(run_id="run-2", observations=observations(second)))

    assert (counts.inserted, counts.updated, counts.unchanged) == (1, 1, 2)
    assert observation_rows(con) == {
        ("0114", 2024): (1.0, "run-1"),
        ("0115", 2024): (2.5, "run-2"),
        ("0117", 2024): (None, "run-1"),
        ("0120", 2024): (4.0, "run-2"),
    }


def test_a_value_becoming_null_is_an_update(con: duckdb.DuckDBPyConnection) -> None:
    load_refresh(con, RefreshBatch("run-1", observations=observations([("N1", "0114", 2024, 1.0)])))
    counts = load_refresh(
        con, RefreshBatch("run-2", observations=observations([("N1", "0114", 2024, None)]))
    )
    assert (counts.inserted, counts.updated, counts.unchanged, counts.deleted) == (0, 1, 0, 0)


def test_a_deleted_value_leaves_the_current_table_and_stays_in_history(
    con: duckdb.DuckDBPyConnection,
) -> None:
    first = [("N1", "0114", 2024, 1.0), ("N1", "0115", 2024, 2.0)]
    load_refresh(con, RefreshBatch("run-1", observations=observations(first)))
    deleted = observations([("N1", "0114", 2024, None, "T", True)])
    counts = load_refresh(con, RefreshBatch("run-2", observations=deleted))

    assert (counts.inserted, counts.updated, counts.deleted) == (0, 0, 1)
    assert con.sql("SELECT municipality_id FROM core.observation").fetchall() == [("0115",)]
    versions = con.sql(
        "SELECT value, is_deleted, change, run_id, valid_to IS NULL FROM core.observation_history"
        " WHERE municipality_id = '0114' ORDER BY valid_from"
    ).fetchall()
    assert versions == [(1.0, False, "new", "run-1", False), (None, True, "deleted", "run-2", True)]

    # The same deletion again (Kolada's from_date overlap sends it twice) changes nothing,
    # and a deletion of a value never held is no row anywhere.
    again = observations(
        [("N1", "0114", 2024, None, "T", True), ("N1", "0117", 2024, None, "T", True)]
    )
    counts = load_refresh(con, RefreshBatch("run-3", observations=again))
    assert (counts.inserted, counts.updated, counts.deleted) == (0, 0, 0)
    assert con.sql("SELECT count(*) FROM core.observation_history").fetchone() == (3,)


def test_every_revision_is_a_version_with_its_validity(con: duckdb.DuckDBPyConnection) -> None:
    load_refresh(con, RefreshBatch("run-1", observations=observations([("N1", "0114", 2024, 1.0)])))
    load_refresh(con, RefreshBatch("run-2", observations=observations([("N1", "0114", 2024, 1.0)])))
    load_refresh(con, RefreshBatch("run-3", observations=observations([("N1", "0114", 2024, 1.5)])))

    versions = con.sql(
        "SELECT value, change, run_id, valid_from, valid_to FROM core.observation_history"
        " ORDER BY valid_from"
    ).fetchall()
    assert [row[:3] for row in versions] == [(1.0, "new", "run-1"), (1.5, "revised", "run-3")]
    assert versions[0][4] == versions[1][3]  # the first ends where the second begins
    assert versions[1][4] is None
    between = versions[1][3] - (versions[1][3] - versions[0][3]) / 2
    as_of = con.execute("SELECT value FROM core.observation_as_of($at)", {"at": between}).fetchall()
    assert as_of == [(1.0,)]
    assert con.sql("SELECT value FROM core.observation_as_of(now())").fetchall() == [(1.5,)]


def test_reloading_the_same_batch_changes_nothing(con: duckdb.DuckDBPyConnection) -> None:
    batch = mart_batch()
    batch.responses = [MANIFEST_LINE]
    first = load_refresh(con, batch)
    before = snapshot(con)

    second = load_refresh(con, batch)

    assert batch.observations is not None
    held = batch.observations.filter(~pl.col("is_deleted")).height  # a deletion is never held
    assert 0 < held < batch.observations.height
    assert first.inserted == held
    assert (second.inserted, second.updated) == (0, 0)
    assert second.unchanged == batch.observations.height  # type: ignore[union-attr]
    assert all(c.inserted == c.updated == 0 for c in second.tables.values())
    assert snapshot(con) == before


def test_counts_add_up_per_table() -> None:
    LoadCounts = warehouse.load.LoadCounts
    a = LoadCounts(1, 2, 3, tables={"core.observation": LoadCounts(1, 2, 3)})
    b = LoadCounts(10, 0, 5, tables={"core.observation": LoadCounts(10, 0, 5), "core.kpi": a})
    total = a + b
    assert (total.inserted, total.updated, total.unchanged) == (11, 2, 8)
    assert total.tables["core.observation"] == LoadCounts(11, 2, 8)
    assert set(total.tables) == {"core.observation", "core.kpi"}


def test_catalogue_is_upserted_and_group_members_replaced(
    con: duckdb.DuckDBPyConnection,
) -> None:
    load_refresh(
        con,
        RefreshBatch(
            "run-1",
            municipalities=municipalities([("0114", "Upplands Väsby", "K")]),
            groups=groups([("G1", "Grupp")]),
            group_members=group_members([("G1", "0114"), ("G1", "0115")]),
        ),
    )
    counts = load_refresh(
        con,
        RefreshBatch(
            "run-2",
            municipalities=municipalities([("0114", "Upplands-Väsby", "K"), ("0115", "V", "K")]),
            group_members=group_members([("G1", "0114")]),
        ),
    )
    assert counts.tables["core.municipality"] == warehouse.load.LoadCounts(1, 1, 0)
    areas = con.sql("SELECT id, title, type FROM core.municipality ORDER BY id").fetchall()
    assert areas == [("0114", "Upplands-Väsby", "K"), ("0115", "V", "K")]
    assert con.sql("SELECT id, title FROM core.municipality_group").fetchall() == [("G1", "Grupp")]
    members = con.sql("SELECT group_id, member_id FROM core.municipality_group_member").fetchall()
    assert members == [("G1", "0114")]


def test_reloading_a_plan_replaces_its_rows(con: duckdb.DuckDBPyConnection) -> None:
    batch = mart_batch()
    load_refresh(con, batch)
    assert batch.plan is not None
    plan_p_goal_a = {
        name: frame.filter(
            pl.col("plan_id") == "p",
            pl.col("goal_id") == "a" if "goal_id" in frame.columns else True,
        )
        for name, frame in batch.plan.items()
    }
    load_refresh(con, RefreshBatch("run-2", plan=plan_p_goal_a))
    assert con.sql("SELECT DISTINCT plan_id, goal_id FROM core.goal ORDER BY ALL").fetchall() == [
        ("f", "f"),
        ("p", "a"),
        ("r", "r"),
    ]
    assert con.sql("SELECT DISTINCT goal_id FROM core.goal_indicator ORDER BY 1").fetchall() == [
        ("a",),
        ("f",),
        ("r",),
    ]


@pytest.mark.parametrize("earlier_rows", [0, 1], ids=["into-empty", "into-loaded"])
def test_duplicate_keys_in_a_batch_fail_the_load(
    con: duckdb.DuckDBPyConnection, earlier_rows: int
) -> None:
    earlier = observations([("N9", "0115", 2020, 1.0)][:earlier_rows])
    load_refresh(con, RefreshBatch("run-0", observations=earlier))
    twice = observations([("N1", "0114", 2024, 1.0), ("N1", "0114", 2024, 2.0)])
    with pytest.raises(ValueError, match="one row per key"):
        load_refresh(con, RefreshBatch("run-1", observations=twice))
    assert con.sql("SELECT count(*) FROM core.observation").fetchone() == (earlier_rows,)


def test_a_crash_after_the_observation_merge_leaves_every_table_as_it_was(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_refresh(con, mart_batch())
    before = snapshot(con)
    changed = mart_batch()
    changed.run_id = "run-2"
    assert changed.observations is not None
    changed.observations = changed.observations.with_columns(pl.col("value") + 1)
    changed.municipalities = municipalities([("0114", "Nytt namn", "K")])
    changed.responses = [MANIFEST_LINE]

    def crash(*_: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(warehouse.load, "_record_responses", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        load_refresh(con, changed)

    assert snapshot(con) == before


def test_the_run_log_is_kept_when_the_load_fails(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_run_start(con, "run-1", "refresh", "p", {"years": [2023, 2024]})

    def crash(*_: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(warehouse.load, "_merge_observations", crash)
    with pytest.raises(RuntimeError):
        load_refresh(con, mart_batch())
    record_run_end(con, "run-1", "failed", requests_made=3, warnings=["slow"], error="disk full")

    row = read_runs(con).row(0, named=True)
    assert (row["run_id"], row["status"], row["error"], row["requests_made"]) == (
        "run-1",
        "failed",
        "disk full",
        3,
    )
    assert row["warnings"] == ["slow"]
    assert row["ended_at"] is not None


def test_a_finished_run_records_its_counts(con: duckdb.DuckDBPyConnection) -> None:
    record_run_start(con, "run-1", "refresh", None, None)
    counts = load_refresh(con, mart_batch())
    record_run_end(con, "run-1", "succeeded", requests_made=1, counts=counts)
    row = read_runs(con).row(0, named=True)
    assert (row["status"], row["rows_inserted"], row["rows_updated"]) == (
        "succeeded",
        counts.inserted,
        0,
    )


def test_responses_are_recorded_once(con: duckdb.DuckDBPyConnection) -> None:
    body = {**MANIFEST_LINE, "method": "POST", "request_body": {"query": []}}
    batch = RefreshBatch("run-1", responses=[MANIFEST_LINE, body])
    load_refresh(con, batch)
    load_refresh(con, batch)
    frame = read_responses_for_run(con, "run-1")
    assert frame.height == 2
    assert sorted(frame["request_body"].to_list(), key=str) == [None, '{"query": []}']


def test_a_warehouse_held_by_another_process_is_reported_as_locked(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with (
        held_by_another_process(path) as pid,
        pytest.raises(WarehouseLockedError) as raised,
        open_warehouse(path),
    ):
        pass
    message = str(raised.value)
    assert message.startswith(f"{path} is in use by another process (")
    assert f"PID {pid}" in message
    assert message.endswith("wait for it to finish or close it")
