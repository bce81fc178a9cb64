"""Opening the DuckDB warehouse: the only place a connection is made.

A writable open brings an old file up to date (migrations, views, stale marts) only
when it is behind: the checks are two small queries, so the flow can open the
warehouse once per step without redoing any of it.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.migrations import bring_up_to_date


class WarehouseError(Exception):
    """A warehouse problem a user can act on."""


class WarehouseLockedError(WarehouseError):
    """Another process holds the warehouse file."""


_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


def _lock_message(path: Path, error: duckdb.Error) -> str | None:
    text = str(error)
    if "Could not set lock on file" not in text and "Conflicting lock" not in text:
        return None
    holder = _HOLDER.search(text)
    who = f"{holder['program']}, PID {holder['pid']}" if holder else "unknown process"
    return f"{path} is in use by another process ({who}): wait for it to finish or close it"


@contextmanager
def open_warehouse(
    path: Path | str, *, read_only: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse; when writable, first bring an old file up to date."""
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseError(f"{path}: no warehouse there yet; run a refresh first")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as error:
        message = _lock_message(path, error)
        if message is None:
            raise WarehouseError(f"{path}: cannot open the warehouse: {error}") from error
        raise WarehouseLockedError(message) from error
    try:
        if not read_only:
            bring_up_to_date(con)
        yield con
    finally:
        con.close()
