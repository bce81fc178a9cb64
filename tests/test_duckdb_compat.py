"""The warehouse file opens read-only in the DuckDB 1.5 CLI and in DuckDB 2.0 (what analysts use).

Each DuckDB runs in its own environment from PyPI (uv), so this module needs uv and PyPI
(or uv's cache): it is marked e2e.
"""

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.warehouse_data import mart_batch
from warehouse.connection import open_warehouse
from warehouse.load import load_refresh
from warehouse.run_log import record_run_end, record_run_start

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("uv") is None, reason="needs uv to fetch other DuckDBs"),
]

RELATIONS_SQL = (
    "SELECT table_schema || '.' || table_name AS name FROM information_schema.tables"
    " WHERE table_schema IN ('raw', 'core', 'mart') ORDER BY 1"
)


@pytest.fixture(scope="module")
def warehouse_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("compat") / "warehouse.duckdb"
    with open_warehouse(path) as con:
        record_run_start(con, "run-mart", "refresh", "p", {})
        counts = load_refresh(con, mart_batch())
        record_run_end(con, "run-mart", "succeeded", counts=counts)
        relations = [name for (name,) in con.sql(RELATIONS_SQL).fetchall()]
    assert "mart.goal_summary" in relations
    yield path


def run(*command: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_duckdb_1_5_cli_reads_every_table_and_view(warehouse_file: Path) -> None:
    cli = ("uvx", "--from", "duckdb-cli==1.5.6", "duckdb", "-readonly", str(warehouse_file))
    relations = [row["name"] for row in json.loads(run(*cli, "-json", "-c", RELATIONS_SQL))]
    assert {"core.observation", "mart.goal_indicator_status", "mart.goal_summary"} <= set(relations)
    every_row = "; ".join(f"SELECT * FROM {name}" for name in relations)
    out = run(*cli, "-csv", "-bail", "-c", every_row)
    assert "Error" not in out
    assert "Vallentuna" in out


def test_duckdb_2_0_reads_every_table_and_view(warehouse_file: Path) -> None:
    script = (
        "import duckdb, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        f"names = [n for (n,) in con.sql({RELATIONS_SQL!r}).fetchall()]\n"
        "for name in names:\n"
        "    con.sql(f'SELECT * FROM {name}').fetchall()\n"
        "print(duckdb.__version__, len(names))\n"
    )
    out = run(
        *("uv", "run", "--isolated", "--no-project", "--with", "duckdb==2.0.1"),
        *("python", "-c", script, str(warehouse_file)),
    )
    version, count = out.split()
    assert version.startswith("2.0")
    assert int(count) >= 14
