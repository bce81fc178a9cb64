"""Versioned DDL from sql/migrations and the analyst-facing marts from sql/marts."""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from transforms.rules import ATTRIBUTION, RIKET_ID
from warehouse.as_of import as_of_macros
from warehouse.transaction import transaction, unordered

MIGRATION_FILE = re.compile(r"^(\d{3})_(\w+)\.sql$")


def sql_dir() -> Path:
    """The sql/ folder: beside the package in a checkout, inside it in an installed wheel."""
    checkout = Path(__file__).resolve().parent.parent / "sql"
    return checkout if checkout.is_dir() else Path(__file__).resolve().parent / "sql"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def available_migrations(folder: Path | None = None) -> list[Migration]:
    """The migration files `NNN_name.sql`, in version order."""
    folder = folder or sql_dir() / "migrations"
    found = []
    for path in folder.glob("*.sql"):
        match = MIGRATION_FILE.match(path.name)
        if match is None:
            raise ValueError(f"{path}: migration files are named NNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"{folder}: two migrations share a version number")
    return found


def applied_versions(con: duckdb.DuckDBPyConnection) -> set[int]:
    """Versions recorded in core.schema_migration (none in a new warehouse)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables"
        " WHERE table_schema = 'core' AND table_name = 'schema_migration'"
    ).fetchone()
    if not exists or not exists[0]:
        return set()
    return {row[0] for row in con.execute("SELECT version FROM core.schema_migration").fetchall()}


def apply_migrations(con: duckdb.DuckDBPyConnection, folder: Path | None = None) -> list[int]:
    """Apply the migrations not yet recorded, each in its own transaction; return their versions."""
    done = applied_versions(con)
    applied = []
    for migration in available_migrations(folder):
        if migration.version in done:
            continue
        with transaction(con):
            con.execute(migration.path.read_text(encoding="utf-8"))
            con.execute(
                "INSERT INTO core.schema_migration (version, name) VALUES (?, ?)",
                [migration.version, migration.name],
            )
        applied.append(migration.version)
    return applied


MARTS_STALE = "marts_stale"
MARTS_VERSION = "marts_version"


def marts_version(folder: Path | None = None) -> str:
    """A digest of the mart SQL (views and their build) and the rules they read."""
    folder = folder or sql_dir() / "marts"
    digest = hashlib.sha256(repr((RIKET_ID, sorted(ATTRIBUTION.items()))).encode("utf-8"))
    for path in sorted(folder.rglob("*.sql")):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def create_marts(con: duckdb.DuckDBPyConnection, folder: Path | None = None) -> None:
    """Rebuild the marts and (re)create every view in sql/marts, with the rules they read
    (attribution texts, Riket's code: transforms/rules.py), in one transaction.

    The build comes first: its SELECT defines the materialised table's columns, which
    the views then select from.
    """
    folder = folder or sql_dir() / "marts"
    with transaction(con):
        con.execute("DELETE FROM core.attribution")
        con.executemany("INSERT INTO core.attribution VALUES (?, ?)", list(ATTRIBUTION.items()))
        con.execute(
            "INSERT OR REPLACE INTO core.warehouse_info (key, value) VALUES ('riket_id', ?)",
            [RIKET_ID],
        )
        rebuild_marts(con, folder / "build", recreate=True)
        for path in sorted(folder.glob("*.sql")):
            con.execute(path.read_text(encoding="utf-8"))
        for statement in as_of_macros(folder):
            con.execute(statement)
        con.execute(
            "INSERT OR REPLACE INTO core.warehouse_info (key, value) VALUES (?, ?)",
            [MARTS_VERSION, marts_version(folder)],
        )


def bring_up_to_date(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply pending migrations, rebuild marts and views whose SQL changed, rebuild stale marts.

    Each happens only when needed, so opening a current warehouse costs two small
    queries; returns the migrations applied.
    """
    upgraded = apply_migrations(con)
    if upgraded or _info(con, MARTS_VERSION) != marts_version():
        create_marts(con)
    elif marts_stale(con):
        # A load whose mart rebuild failed left them behind its data.
        with transaction(con):
            rebuild_marts(con)
    return upgraded


def _info(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    found = con.execute("SELECT value FROM core.warehouse_info WHERE key = ?", [key]).fetchone()
    return str(found[0]) if found else None


MART_BASE = "mart.goal_indicator_status_base"
# Indicators built per statement: the build's joins and windows then hold one slice of
# the plans at a time: 300 KPIs × 290 kommuner built at once ran out of 512 MB, in
# slices of 50 they took 10 s and 600 MB (25: 13.5 s, 100: 10.6 s); 8.5 s unordered.
INDICATORS_PER_BUILD = 50


def rebuild_marts(
    con: duckdb.DuckDBPyConnection, folder: Path | None = None, *, recreate: bool = False
) -> None:
    """Recompute the materialised mart (sql/marts/build) in the caller's transaction, a
    slice of indicators at a time, and clear the mark a load leaves while it is stale.

    ``recreate`` makes the table anew from the build query's columns (when its SQL changed).
    """
    folder = folder or sql_dir() / "marts" / "build"
    query = (folder / "goal_indicator_status_base.sql").read_text(encoding="utf-8")
    if recreate:
        con.execute(f"DROP TABLE IF EXISTS {MART_BASE}")
        con.execute(
            f"CREATE TABLE {MART_BASE} AS {query}",
            {"first_ikey": 1, "last_ikey": 0, "plan_id": None},
        )
    else:
        con.execute(f"DELETE FROM {MART_BASE}")
    found = con.execute("SELECT count(*) FROM core.goal_indicator").fetchone()
    with unordered(con):
        for first in range(1, (int(found[0]) if found else 0) + 1, INDICATORS_PER_BUILD):
            con.execute(
                f"INSERT INTO {MART_BASE} {query}",
                {
                    "first_ikey": first,
                    "last_ikey": first + INDICATORS_PER_BUILD - 1,
                    "plan_id": None,
                },
            )
    con.execute("DELETE FROM core.warehouse_info WHERE key = ?", [MARTS_STALE])


def marts_stale(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether a load left the marts behind its data."""
    return _info(con, MARTS_STALE) is not None
