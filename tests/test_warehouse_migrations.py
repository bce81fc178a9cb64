"""Migrations: applied in order once, each in its own transaction; old warehouses upgrade."""

import shutil
from pathlib import Path

import duckdb
import pytest

from warehouse.connection import WarehouseError, open_warehouse
from warehouse.migrations import apply_migrations, available_migrations, sql_dir

TABLES = {
    ("core", "schema_migration"),
    ("core", "run"),
    ("raw", "response"),
    ("core", "kpi"),
    ("core", "municipality"),
    ("core", "municipality_group"),
    ("core", "municipality_group_member"),
    ("core", "observation"),
    ("core", "goal_plan"),
    ("core", "goal"),
    ("core", "attribution"),
    ("core", "goal_indicator"),
    ("core", "series"),
    ("core", "warehouse_info"),
    ("mart", "goal_indicator_status_base"),
    ("core", "fetch_state"),
    *(
        ("core", f"{name}_history")
        for name in (
            "observation",
            "kpi",
            "municipality",
            "municipality_group",
            "municipality_group_member",
            "goal_plan",
            "goal",
            "goal_indicator",
            "series",
        )
    ),
}


def relations(con: duckdb.DuckDBPyConnection, kind: str) -> set[tuple[str, str]]:
    rows = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = ?",
        [kind],
    ).fetchall()
    return set(rows)


def test_a_new_warehouse_gets_every_table_and_mart(tmp_path: Path) -> None:
    with open_warehouse(tmp_path / "sub" / "warehouse.duckdb") as con:
        assert relations(con, "BASE TABLE") == TABLES
        assert relations(con, "VIEW") == {
            ("mart", "goal_indicator_status"),
            ("mart", "goal_summary"),
            ("mart", "leaderboard"),
            ("mart", "definition_changes"),
        }
        recorded = con.sql("SELECT version, name FROM core.schema_migration ORDER BY 1").fetchall()
    assert recorded == [(m.version, m.name) for m in available_migrations()]


def test_reopening_applies_nothing(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with open_warehouse(path):
        pass
    with open_warehouse(path) as con:
        assert apply_migrations(con) == []
        assert con.sql("SELECT count(*) FROM core.schema_migration").fetchone() == (
            len(available_migrations()),
        )


def test_an_old_warehouse_upgrades_itself(tmp_path: Path) -> None:
    first_only = tmp_path / "migrations"
    first_only.mkdir()
    shutil.copy(available_migrations()[0].path, first_only)
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        assert apply_migrations(con, first_only) == [1]

    with open_warehouse(path) as con:
        assert relations(con, "BASE TABLE") == TABLES
        versions = [v for (v,) in con.sql("SELECT version FROM core.schema_migration").fetchall()]
    assert sorted(versions) == [m.version for m in available_migrations()]


def test_a_failing_migration_is_rolled_back_and_not_recorded(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    shutil.copy(available_migrations()[0].path, folder)
    (folder / "002_broken.sql").write_text(
        "CREATE TABLE core.half_done (x INTEGER);\nSELECT * FROM no_such_table;\n"
    )
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        with pytest.raises(duckdb.CatalogException):
            apply_migrations(con, folder)
        assert con.sql("SELECT version FROM core.schema_migration").fetchall() == [(1,)]
        assert ("core", "half_done") not in relations(con, "BASE TABLE")


def test_migration_files_must_be_numbered(tmp_path: Path) -> None:
    (tmp_path / "add_things.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match=r"NNN_name\.sql"):
        available_migrations(tmp_path)


def test_a_read_only_open_needs_an_existing_warehouse(tmp_path: Path) -> None:
    missing = tmp_path / "missing.duckdb"
    with (
        pytest.raises(WarehouseError, match="no warehouse there yet"),
        open_warehouse(missing, read_only=True),
    ):
        pass


def test_a_read_only_open_leaves_the_schema_alone(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with open_warehouse(path):
        pass
    with open_warehouse(path, read_only=True) as con:
        assert ("core", "observation") in relations(con, "BASE TABLE")
        with pytest.raises(duckdb.Error):
            con.execute("CREATE TABLE core.x (y INTEGER)")


def test_sql_files_sit_beside_the_package() -> None:
    assert (sql_dir() / "migrations").is_dir()
    assert (sql_dir() / "marts" / "goal_summary.sql").is_file()
