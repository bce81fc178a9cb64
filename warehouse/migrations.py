"""Versioned DDL from sql/migrations and the analyst-facing marts from sql/marts."""

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

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
        con.begin()
        try:
            con.execute(migration.path.read_text(encoding="utf-8"))
            con.execute(
                "INSERT INTO core.schema_migration (version, name) VALUES (?, ?)",
                [migration.version, migration.name],
            )
            con.commit()
        except BaseException:
            con.rollback()
            raise
        applied.append(migration.version)
    return applied


def create_marts(con: duckdb.DuckDBPyConnection, folder: Path | None = None) -> None:
    """(Re)create every view in sql/marts, in file-name order, in one transaction."""
    folder = folder or sql_dir() / "marts"
    con.begin()
    try:
        for path in sorted(folder.glob("*.sql")):
            con.execute(path.read_text(encoding="utf-8"))
        con.commit()
    except BaseException:
        con.rollback()
        raise


MARTS_STALE = "marts_stale"


def rebuild_marts(con: duckdb.DuckDBPyConnection, folder: Path | None = None) -> None:
    """Recompute the materialised marts (sql/marts/build) in the caller's transaction,
    and clear the mark a load leaves while they are stale."""
    folder = folder or sql_dir() / "marts" / "build"
    for path in sorted(folder.glob("*.sql")):
        con.execute(path.read_text(encoding="utf-8"))
    con.execute("DELETE FROM core.warehouse_info WHERE key = ?", [MARTS_STALE])


def marts_stale(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether a load left the marts behind its data."""
    found = con.execute("SELECT 1 FROM core.warehouse_info WHERE key = ?", [MARTS_STALE]).fetchone()
    return found is not None
