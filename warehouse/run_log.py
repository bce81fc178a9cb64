"""The run log, core.run: each write in its own transaction, so failed runs are kept too."""

import json
import os
import socket
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

from warehouse.load import LoadCounts
from warehouse.transaction import transaction


def record_run_start(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    kind: str,
    plan_id: str | None,
    parameters: Mapping[str, Any] | None,
) -> None:
    """Record a run as running (its own transaction, so it survives a failed load), with
    its host and process; first mark the runs whose process is gone as abandoned."""
    mark_abandoned_runs(con)
    plain = json.loads(json.dumps(parameters or {}, default=str))
    text = json.dumps(_safe(plain), ensure_ascii=False)
    with transaction(con):
        con.execute(
            "INSERT INTO core.run (run_id, kind, plan_id, status, parameters, host, pid)"
            " VALUES (?, ?, ?, 'running', ?, ?, ?)",
            [run_id, kind, plan_id, text, socket.gethostname(), os.getpid()],
        )


def record_run_interrupted(con: duckdb.DuckDBPyConnection, run_id: str, reason: str) -> None:
    """A run stopped by Ctrl-C or SIGTERM (only while it is still running)."""
    with transaction(con):
        con.execute(
            "UPDATE core.run SET status = 'interrupted', ended_at = now(), error = ?"
            " WHERE run_id = ? AND status = 'running'",
            [safe_text(reason), run_id],
        )


def record_run_settled(con: duckdb.DuckDBPyConnection, run_id: str, by: str) -> None:
    """A run whose load committed but whose process died before it said so: succeeded."""
    with transaction(con):
        con.execute(
            "UPDATE core.run SET status = 'succeeded', ended_at = coalesce(ended_at, now()),"
            " error = ? WHERE run_id = ? AND status IN ('running', 'abandoned', 'failed')",
            [
                f"its load committed, but the process ended before recording it; settled by {by}",
                run_id,
            ],
        )


def mark_abandoned_runs(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Mark 'running' runs of this host whose process is gone as abandoned; their ids.

    A run of another host, or of a process that still runs here, is left alone (it may
    be fetching while this one starts: the warehouse is not held then).
    """
    host = socket.gethostname()
    rows = con.execute("SELECT run_id, host, pid FROM core.run WHERE status = 'running'").fetchall()
    gone = [
        (run_id, pid)
        for run_id, run_host, pid in rows
        if (run_host == host and pid is not None and not _alive(pid))
        or (run_host is None and pid is None)  # logged before runs named their process
    ]
    if not gone:
        return []
    with transaction(con):
        for run_id, pid in gone:
            reason = (
                f"abandoned: process {pid} on {host} ended without recording how the run"
                " ended (killed, or the machine stopped)"
                if pid is not None
                else "abandoned: still 'running' when the run log learnt to name processes"
            )
            con.execute(
                "UPDATE core.run SET status = 'abandoned', ended_at = now(), error = ?"
                " WHERE run_id = ? AND status = 'running'",
                [reason, run_id],
            )
    return [run_id for run_id, _ in gone]


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    return True


def _safe(value: Any) -> Any:
    """Every text in a JSON-like value made safe (``safe_text``)."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, list):
        return [_safe(item) for item in value]
    if isinstance(value, dict):
        return {safe_text(str(key)): _safe(item) for key, item in value.items()}
    return value


def safe_text(text: str) -> str:
    """Text DuckDB can store: lone surrogates (from a bad file name or plan) escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def record_run_end(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    status: str,
    *,
    requests_made: int | None = None,
    counts: LoadCounts | None = None,
    warnings: Sequence[str] = (),
    error: str | None = None,
) -> None:
    """Record how a run ended: succeeded, failed or refused, with its counts."""
    with transaction(con):
        row = con.execute(
            """
            UPDATE core.run SET
                ended_at = now(), status = ?, requests_made = ?,
                rows_inserted = ?, rows_updated = ?, rows_unchanged = ?, rows_deleted = ?,
                warnings = ?, error = ?
            WHERE run_id = ?
            """,
            [
                status,
                requests_made,
                counts.inserted if counts else None,
                counts.updated if counts else None,
                counts.unchanged if counts else None,
                counts.deleted if counts else None,
                [safe_text(warning) for warning in warnings],
                safe_text(error) if error is not None else None,
                run_id,
            ],
        ).fetchone()
        if not row or row[0] != 1:
            raise ValueError(f"run {run_id!r} was not started (record_run_start)")
