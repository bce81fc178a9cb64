"""What a load records besides the data: the run's answers (raw.response) and what it
fetched (core.fetch_state)."""

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from warehouse.staged import staged as _staged

RESPONSE_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "source": pl.String(),
    "kind": pl.String(),
    "method": pl.String(),
    "url": pl.String(),
    "request_body": pl.String(),
    "fetched_at": pl.String(),
    "status": pl.Int32(),
    "content_hash": pl.String(),
    "bytes": pl.Int64(),
}

FETCH_STATE_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "series_id": pl.String(),
    "year": pl.Int32(),
    "fetched_at": pl.Datetime("us", "UTC"),
    "source_stamp": pl.String(),
}


def record_responses(
    con: duckdb.DuckDBPyConnection, run_id: str, responses: Sequence[Mapping[str, Any]]
) -> None:
    """Append the run's manifest lines to raw.response, skipping lines already there."""
    if not responses:
        return
    rows = [
        {
            **{name: line.get(name) for name in RESPONSE_SCHEMA},
            "run_id": line.get("run_id") or run_id,
            "request_body": as_text(line.get("request_body")),
            "fetched_at": as_text(line.get("fetched_at")),
        }
        for line in responses
    ]
    frame = pl.DataFrame(rows, schema=RESPONSE_SCHEMA)
    columns = ", ".join(RESPONSE_SCHEMA)
    with _staged(con, "staged_responses", frame) as staged:
        con.execute(
            f"""
            INSERT INTO raw.response ({columns})
            SELECT {columns} FROM (
                SELECT * REPLACE (fetched_at::TIMESTAMPTZ AS fetched_at) FROM {staged}
            )
            EXCEPT
            SELECT {columns} FROM raw.response
            """
        )


def record_fetch_state(
    con: duckdb.DuckDBPyConnection, run_id: str, fetch_state: pl.DataFrame | None
) -> None:
    """Remember what this run fetched (replacing what an earlier run fetched of the same)."""
    if fetch_state is None or fetch_state.is_empty():
        return
    frame = fetch_state.select(list(FETCH_STATE_SCHEMA)).cast(FETCH_STATE_SCHEMA)  # type: ignore[arg-type]
    with _staged(con, "staged_fetch_state", frame) as staged:
        con.execute(
            f"""
            INSERT OR REPLACE INTO core.fetch_state
                (source, series_id, year, fetched_at, source_stamp, run_id)
            SELECT source, series_id, year, fetched_at, source_stamp, $run_id FROM {staged}
            """,
            {"run_id": run_id},
        )


def as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
