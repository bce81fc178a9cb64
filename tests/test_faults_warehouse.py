"""Faults in the warehouse layer (issue #11): the first error is the one reported, runs
left 'running' by a killed process are marked, error texts are stored safely."""

from pathlib import Path

import duckdb
import pytest

from warehouse.transaction import transaction, unordered


def test_the_first_error_is_reported_not_the_clean_up_after_it(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("CREATE TABLE t (x INTEGER NOT NULL)")
        refused = pytest.raises(duckdb.ConstraintException, match="NOT NULL")
        with refused, transaction(con), unordered(con):
            con.execute("INSERT INTO t VALUES (1)")
            con.execute("INSERT INTO t VALUES (NULL)")
        assert con.sql("SELECT count(*) FROM t").fetchone() == (0,)
        con.execute("INSERT INTO t VALUES (2)")  # the connection is usable again
        assert con.sql("SELECT x FROM t").fetchall() == [(2,)]


def test_a_transaction_duckdb_ended_itself_reports_the_cause(tmp_path: Path) -> None:
    cause = pytest.raises(RuntimeError, match="the cause")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con, cause, transaction(con):
        con.rollback()  # DuckDB ended it (as after some fatal errors)
        raise RuntimeError("the cause")


def dead_pid() -> int:
    """The id of a process that has ended."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(done.stdout)


def test_a_run_whose_process_died_is_marked_abandoned_by_the_next(tmp_path: Path) -> None:
    import os
    import socket

    from warehouse.connection import open_warehouse
    from warehouse.run_log import record_run_start

    with open_warehouse(tmp_path / "w.duckdb") as con:
        host = socket.gethostname()
        for run_id, run_host, pid in (
            ("killed", host, dead_pid()),
            ("alive-here", host, os.getppid()),
            ("elsewhere", "another-host", dead_pid()),
        ):
            con.execute(
                "INSERT INTO core.run (run_id, kind, status, host, pid)"
                " VALUES (?, 'refresh', 'running', ?, ?)",
                [run_id, run_host, pid],
            )
        record_run_start(con, "next", "refresh", "p", {})
        rows = dict(con.sql("SELECT run_id, status FROM core.run ORDER BY run_id").fetchall())
        error = con.sql("SELECT error FROM core.run WHERE run_id = 'killed'").fetchone()
    assert rows == {
        "killed": "abandoned",
        "alive-here": "running",
        "elsewhere": "running",
        "next": "running",
    }
    assert error and "ended without recording how the run ended" in error[0]


def test_an_error_text_with_a_lone_surrogate_is_stored(tmp_path: Path) -> None:
    from warehouse.connection import open_warehouse
    from warehouse.run_log import record_run_end, record_run_start

    with open_warehouse(tmp_path / "w.duckdb") as con:
        record_run_start(con, "run", "refresh", "p", {"plan": "pl\udce5n.yaml"})
        record_run_end(con, "run", "failed", error="bad name pl\udce5n", warnings=["\ud800"])
        row = con.sql("SELECT status, error, warnings FROM core.run").fetchone()
    assert row == ("failed", "bad name pl\\udce5n", ["\\ud800"])


def land_run(store, run_id: str) -> dict:  # type: ignore[no-untyped-def]
    """One landed answer of a run; its manifest line."""
    from datetime import UTC, datetime

    from sources.http import Response

    answer = Response("GET", f"http://127.0.0.1/v3/data/{run_id}", 200, b"{}", {},
                      datetime.now(UTC))  # fmt: skip
    return store.land(answer, run_id=run_id, source="kolada", kind="data")


def test_a_run_killed_after_its_load_committed_is_settled_and_replayed(tmp_path: Path) -> None:
    """A kill between the load's commit and the landing's mark leaves `.loading`: the
    next run marks it completed (and the run succeeded) if the data is in, else drops it;
    a rebuild replays it either way, so committed data is never left out."""
    from flows.recovery import settle_loading
    from sources.landing import RawStore
    from warehouse.connection import open_warehouse
    from warehouse.load import RefreshBatch, load_refresh

    store = RawStore(tmp_path / "raw")
    committed = land_run(store, "committed")
    land_run(store, "lost")  # its load never committed
    for run_id in ("committed", "lost"):
        store.mark_loading(run_id)
    assert store.replayable_run_ids() == ["committed", "lost"]
    with open_warehouse(tmp_path / "w.duckdb") as con:
        con.execute(
            "INSERT INTO core.run (run_id, kind, status, host, pid)"
            " VALUES ('committed', 'refresh', 'running', 'gone-host', 1)"
        )
        load_refresh(con, RefreshBatch("committed", responses=[committed]))  # and killed

        assert settle_loading(con, store, by="next-run") == ["committed"]

        row = con.sql("SELECT status, error FROM core.run WHERE run_id = 'committed'").fetchone()
    assert row is not None and row[0] == "succeeded" and "settled by next-run" in row[1]
    assert store.completed_run_ids() == ["committed"]
    assert store.loading_run_ids() == [] and store.replayable_run_ids() == ["committed"]


def test_a_sqlite_file_as_the_warehouse_is_refused_without_any_download(tmp_path: Path) -> None:
    import sqlite3
    import time

    from warehouse.connection import WarehouseError, open_warehouse

    path = tmp_path / "w.duckdb"
    with sqlite3.connect(path) as lite:
        lite.execute("CREATE TABLE t (x INTEGER)")
    started = time.monotonic()
    refused = pytest.raises(WarehouseError, match=r"w\.duckdb: not a DuckDB warehouse \(a SQLite")
    with refused, open_warehouse(path):
        pass
    assert time.monotonic() - started < 5  # no extension was fetched
    (tmp_path / "other.duckdb").write_bytes(b"not a database at all")
    with (
        pytest.raises(WarehouseError, match="some other file"),
        open_warehouse(tmp_path / "other.duckdb", read_only=True),
    ):
        pass


def test_staging_folders_left_by_killed_runs_are_removed_by_the_next(tmp_path: Path) -> None:
    import socket

    from flows.pipeline import RefreshRequest, begin_run
    from warehouse.connection import open_warehouse

    warehouse = tmp_path / "w.duckdb"
    with open_warehouse(warehouse) as con:
        con.execute(
            "INSERT INTO core.run (run_id, kind, status, host, pid) VALUES"
            " ('killed', 'refresh', 'running', ?, ?),"
            " ('fetching', 'refresh', 'running', 'another-host', 1)",
            [socket.gethostname(), dead_pid()],
        )
    left = [tmp_path / f".malbild-staging-{name}" for name in ("killed", "abc123", "fetching")]
    for folder in left:
        folder.mkdir()
        (folder / "part-0.parquet").write_bytes(b"x")
    request = RefreshRequest(tmp_path / "p.yaml", warehouse, tmp_path / "raw", run_id="next")
    begin_run(request)
    # The killed run is marked abandoned and its folder goes, as does the orphan of a
    # load (no run); a run still fetching on another machine keeps its own.
    assert [folder.exists() for folder in left] == [False, False, True]
