"""SIGKILL at several moments of a real `malbild run` process: every table is as it was
(checksums) unless the load had committed; the next run settles what the killed one
left (its run-log row, its landing, its staging folder), and a rebuild replays exactly
the committed runs. TEST DATA (tests/test_refresh_flow.py)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests import test_refresh_flow
from tests.test_refresh_flow import query, run

pytestmark = pytest.mark.e2e

fakes = test_refresh_flow.fakes
plan_file = test_refresh_flow.plan_file

# Where the process kills itself: a function it calls at that moment, patched.
MOMENTS = {
    # fetching: as the first Kolada data page is read
    "fetch": ("sources.kolada.series", "_read_page"),
    # loading: the observations merged, the transaction not committed
    "load": ("warehouse.load", "_record_fetch_state"),
    # the load committed, the landing not yet marked complete
    "committed": ("sources.landing.RawStore", "mark_completed"),
}
KILLER = """
import importlib, os, signal, sys
module, name = sys.argv[1].rsplit(":", 1)
path = module.split(".")
try:
    owner = importlib.import_module(module)
except ModuleNotFoundError:
    owner = getattr(importlib.import_module(".".join(path[:-1])), path[-1])
setattr(owner, name, lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL))
from flows.cli import main
sys.exit(main(sys.argv[2:]))
"""


def checksums(warehouse: Path) -> dict[str, str]:
    """An order-independent digest of every table but the run log."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.sql(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables"
            " WHERE table_type = 'BASE TABLE' AND table_schema IN ('raw', 'core', 'mart')"
            " AND table_name <> 'run'"
        ).fetchall()
        return {
            name: hashlib.sha256(
                repr(sorted(map(repr, con.sql(f"SELECT * FROM {name}").fetchall()))).encode()
            ).hexdigest()
            for (name,) in tables
        }


def killed_run(moment: str, plan: Path, warehouse: Path, env: dict[str, str]) -> int:
    module, name = MOMENTS[moment]
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLER,
            f"{module}:{name}",
            "run",
            "--plan",
            str(plan),
            "--warehouse",
            str(warehouse),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_run_killed_at_any_moment_leaves_every_table_whole(
    prefect_harness, fakes, plan_file: Path, tmp_path: Path, moment: str
) -> None:
    from prefect.settings import PREFECT_API_URL

    kolada, scb = fakes
    warehouse = tmp_path / "w.duckdb"
    assert run(plan_file, warehouse) == 0
    before = checksums(warehouse)
    kolada.revise("N07403", "0115", 2024, [{"value": 700.0}])
    env = {
        **os.environ,
        "MALBILD_KOLADA_URL": kolada.base_url,
        "MALBILD_SCB_URL": scb.base_url,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),  # this session's server
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }

    assert killed_run(moment, plan_file, warehouse, env) == -9

    value = (
        "SELECT value FROM core.observation"
        " WHERE series_id = 'N07403' AND municipality_id = '0115' AND year = 2024"
    )
    if moment == "committed":
        assert checksums(warehouse) != before
        assert query(warehouse, value) == [(700.0,)]
    else:
        assert checksums(warehouse) == before
        assert query(warehouse, value) == [(400.0,)]
    killed = query(warehouse, "SELECT run_id FROM core.run ORDER BY started_at")[-1][0]

    assert run(plan_file, warehouse) == 0  # the next run settles what the kill left
    statuses = dict(query(warehouse, "SELECT run_id, status FROM core.run"))
    assert statuses[killed] == ("succeeded" if moment == "committed" else "abandoned")
    assert query(warehouse, value) == [(700.0,)]
    assert not list(tmp_path.glob(".malbild-staging-*"))
    raw = tmp_path / "raw" / "runs"
    assert not list(raw.glob("*.loading"))
    assert (raw / f"{killed}.completed").exists() == (moment == "committed")

    rebuilt = tmp_path / "rebuilt.duckdb"
    rebuild = ["rebuild", "--warehouse", str(rebuilt), "--raw-dir", str(tmp_path / "raw")]
    assert test_refresh_flow.main(rebuild) == 0
    assert test_refresh_flow.snapshot(rebuilt) == test_refresh_flow.snapshot(warehouse)
