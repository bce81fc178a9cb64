"""The run log, core.run: each write in its own transaction, so failed runs are kept too."""

import json
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
    """Record a run as running (its own transaction, so it survives a failed load)."""
    with transaction(con):
        con.execute(
            "INSERT INTO core.run (run_id, kind, plan_id, status, parameters)"
            " VALUES (?, ?, ?, 'running', ?)",
            [run_id, kind, plan_id, json.dumps(parameters or {}, ensure_ascii=False, default=str)],
        )


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
                list(warnings),
                error,
                run_id,
            ],
        ).fetchone()
        if not row or row[0] != 1:
            raise ValueError(f"run {run_id!r} was not started (record_run_start)")
