"""Bad input from issue #11, end to end: a plan file that is not UTF-8, a lone surrogate
escape, an infinite target. Each is bad input (exit 2, one line, nothing written), not a
crash. No network and no Prefect: the preflight refuses these before either is needed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from flows import preflight
from flows.cli import main
from flows.pipeline import PLAN_KIND, InputError
from sources.http import Response
from sources.landing import RawStore

PLAN = """\
plan:
  id: testplan
  title: Testplan
  municipality: "0115"
  years: 2024-2024
goals:
  - id: kvalitet
    title: Kvalitet i förskolan
    indicators:
      - {kpi: N15507, direction: higher, target: {value: 240}}
"""
NOT_UTF8_AT = PLAN.index("ö")  # Latin-1 writes "ö" as the single byte 0xf6

DATA_TABLES = (
    "core.observation",
    "core.kpi",
    "core.municipality",
    "core.municipality_group",
    "core.goal_plan",
    "core.goal",
    "core.goal_indicator",
)


def latin1_plan(tmp_path: Path) -> Path:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(PLAN.encode("latin-1"))
    return path


def surrogate_plan(tmp_path: Path) -> Path:
    path = tmp_path / "surrogate.yaml"
    path.write_text(PLAN.replace("Kvalitet i förskolan", '"Kvalitet \\ud800"'), encoding="utf-8")
    return path


def infinite_target_plan(tmp_path: Path) -> Path:
    path = tmp_path / "infinite.yaml"
    path.write_text(PLAN.replace("{value: 240}", "{value: .inf}"), encoding="utf-8")
    return path


BAD_PLANS = {
    "not UTF-8": (latin1_plan, f"not UTF-8 at byte {NOT_UTF8_AT} (line 8)"),
    "lone surrogate": (surrogate_plan, "'\\ud800' is a lone surrogate"),
    "infinite target": (infinite_target_plan, "target.value inf: input should be a finite number"),
}


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_plan_file_that_is_not_utf8_is_bad_input_naming_file_and_byte(tmp_path: Path):
    path = latin1_plan(tmp_path)

    with pytest.raises(InputError) as raised:
        preflight.read_plan(path)

    assert str(raised.value) == (
        f"{path}: not UTF-8 at byte {NOT_UTF8_AT} (line 8): save the file as UTF-8"
    )


def test_landed_plan_that_is_not_utf8_is_bad_input_naming_the_run(tmp_path: Path):
    store = RawStore(tmp_path / "raw")
    run_id = "20260101T000000Z-abcdef"
    landed = Response(
        method="FILE",
        url=latin1_plan(tmp_path).as_uri(),
        status=200,
        body=PLAN.encode("latin-1"),
        headers={},
        fetched_at=datetime.now(UTC),
    )
    store.land(landed, run_id=run_id, source="malbild", kind=PLAN_KIND)

    with pytest.raises(InputError, match=rf"^run {run_id}: .*not UTF-8 at byte {NOT_UTF8_AT}"):
        preflight.read_landed_plan(store, run_id, store.manifest(run_id))


@pytest.mark.parametrize("fault", list(BAD_PLANS))
def test_check_of_a_bad_plan_exits_2_with_one_line_naming_file_and_fault(
    fault: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    write, problem = BAD_PLANS[fault]
    path = write(tmp_path)

    assert main(["check", str(path)]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith(f"malbild: {path}: ") and problem in err
    assert "Traceback" not in err


@pytest.mark.parametrize("fault", list(BAD_PLANS))
def test_run_of_a_bad_plan_exits_2_and_writes_no_data(
    fault: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    write, problem = BAD_PLANS[fault]
    path = write(tmp_path)
    warehouse = tmp_path / "w.duckdb"

    assert main(["run", "--plan", str(path), "--warehouse", str(warehouse)]) == 2

    err = capsys.readouterr().err
    assert f"malbild: {path}: " in err and problem in err
    assert "Traceback" not in err
    for table in DATA_TABLES:
        assert query(warehouse, f"SELECT count(*) FROM {table}") == [(0,)], table
    [(status, error)] = query(warehouse, "SELECT status, error FROM core.run")
    assert status == "refused" and problem in error
