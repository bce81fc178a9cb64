"""Opening the DuckDB warehouse: the only place a connection is made.

A writable open brings an old file up to date (migrations, views, stale marts) only
when it is behind: the checks are two small queries, so the flow can open the
warehouse once per step without redoing any of it.
"""

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.migrations import bring_up_to_date

MEMORY_LIMIT_ENV = "MALBILD_DUCKDB_MEMORY_LIMIT"
# DuckDB's own default is 80 % of the machine's memory, and a load keeps its uncommitted
# rows in memory up to that: a 1.2 M-observation refresh peaked at 1.1 GB building its
# marts, and 0.5 GB with this limit, in the same time (DuckDB spills the rest to disk).
DEFAULT_MEMORY_LIMIT = "512MB"


# A file that is not a DuckDB database (a SQLite file, say) makes DuckDB reach for an
# extension to read it, and download one: the warehouse is DuckDB's own format only.
NO_EXTENSION_LOADING: dict[str, str | bool | int | float | list[str]] = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
}


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


def _check_format(path: Path) -> None:
    """Refuse a file that is not a DuckDB database, naming what it looks like."""
    try:
        with open(path, "rb") as file:
            head = file.read(16)
    except FileNotFoundError:
        return
    except OSError as error:
        raise WarehouseError(f"{path}: cannot read the warehouse: {error.strerror}") from error
    if not head or head[8:12] == b"DUCK":
        return
    looks = "a SQLite database" if head.startswith(b"SQLite format 3") else "some other file"
    raise WarehouseError(f"{path}: not a DuckDB warehouse ({looks}); give another --warehouse path")


def memory_limit() -> str:
    """DuckDB's memory limit for malbild's connections: ``MALBILD_DUCKDB_MEMORY_LIMIT``
    (e.g. ``2GB``), else 512 MB."""
    return os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT


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
    _check_format(path)
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=NO_EXTENSION_LOADING)
    except duckdb.Error as error:
        message = _lock_message(path, error)
        if message is None:
            raise WarehouseError(f"{path}: cannot open the warehouse: {error}") from error
        raise WarehouseLockedError(message) from error
    try:
        con.execute("SET memory_limit = ?", [memory_limit()])
        if not read_only:
            bring_up_to_date(con)
        yield con
    finally:
        con.close()
