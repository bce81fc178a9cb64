"""Opening the DuckDB warehouse: the only place a connection is made."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.migrations import apply_migrations, create_marts, marts_stale, rebuild_marts


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
    """Open the warehouse; when writable, bring its schema and marts up to date."""
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
            upgraded = apply_migrations(con)
            create_marts(con)
            if upgraded or marts_stale(con):
                # New mart tables start empty, and a load whose mart rebuild failed left
                # them stale: fill them from what the warehouse holds.
                con.begin()
                rebuild_marts(con)
                con.commit()
        yield con
    finally:
        con.close()
