"""The README's analyst examples run as written, on a demo warehouse (sample data)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.e2e

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
SQL_BLOCKS = re.findall(r"```sql\n(.*?)```", README, flags=re.DOTALL)
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def test_the_readme_has_the_examples_these_tests_run():
    assert len(SQL_BLOCKS) >= 4
    assert any("write_excel" in block for block in PYTHON_BLOCKS)


@pytest.mark.parametrize("sql", SQL_BLOCKS, ids=[f"sql-{n}" for n in range(len(SQL_BLOCKS))])
def test_every_readme_query_runs_and_answers(demo_warehouse: Path, sql: str):
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        rows = con.sql(sql).fetchall()
    assert rows


def test_stockholms_lan_kommuner_are_judged_on_their_own_comparisons(demo_warehouse: Path):
    (sql,) = [block for block in SQL_BLOCKS if "G33612" in block]
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        rows = con.sql(sql).fetchall()
        coverage = con.sql(
            "SELECT DISTINCT s.municipality_id, s.goal_id, s.assessed, s.indicators"
            " FROM mart.goal_summary s WHERE s.plan_id = 'vallentuna-2024-2026' AND s.year = 2024"
            " AND s.status <> 'underlag saknas'"
        ).fetchall()
    assert len({row[0] for row in rows}) == 26
    # No goal has a status on less than the plan's minimum coverage, for any kommun.
    assert all(assessed >= 0.5 * indicators for _, _, assessed, indicators in coverage)


def test_the_readme_excel_example_writes_a_workbook(
    demo_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    openpyxl = pytest.importorskip("openpyxl")
    (code,) = [block for block in PYTHON_BLOCKS if "write_excel" in block]
    monkeypatch.chdir(tmp_path)

    # The demo published its snapshot beside its warehouse, as every run does.
    snapshot = demo_warehouse.with_name(f"{demo_warehouse.stem}.snapshot.duckdb")
    assert snapshot.is_file()
    exec(code.replace("data/malbild.snapshot.duckdb", str(snapshot)), {})

    sheet = openpyxl.load_workbook(tmp_path / "status.xlsx").active
    assert sheet.max_row > 1
    assert [cell.value for cell in sheet[1]][:2] == ["plan_id", "goal_id"]
