"""Ctrl-C and SIGTERM stop a `malbild run` process within seconds, even while it waits
on a slow server: exit 130 / 143, the run recorded as interrupted, the data unchanged,
no temporary Prefect server left behind. TEST DATA (tests/test_refresh_flow.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import test_refresh_flow
from tests.test_refresh_flow import query, run, snapshot

pytestmark = pytest.mark.e2e

fakes = test_refresh_flow.fakes
plan_file = test_refresh_flow.plan_file


def orphaned_prefect_servers() -> set[int]:
    """Processes of a temporary Prefect API whose parent has gone (adopted by init)."""
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
            )
            command = (status.parent / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if (
            fields.get("PPid", "").strip() == "1"
            and b"uvicorn" in command
            and b"prefect" in command
        ):
            found.add(int(status.parent.name))
    return found


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_ends_a_run_at_once_and_records_it(
    prefect_harness, fakes, plan_file: Path, tmp_path: Path, stop: signal.Signals
) -> None:
    kolada, scb = fakes
    warehouse = tmp_path / "w.duckdb"
    assert run(plan_file, warehouse, "--full") == 0
    before = snapshot(warehouse)
    orphans = orphaned_prefect_servers()
    env = {
        **os.environ,
        "MALBILD_KOLADA_URL": kolada.base_url,
        "MALBILD_SCB_URL": scb.base_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-c", "import sys; from flows.cli import main; sys.exit(main())"]
    process = subprocess.Popen(
        [*command, "run", "--full", "--plan", str(plan_file), "--warehouse", str(warehouse)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if "Prefect startat" in line:
            break
    kolada.latency = 30  # every answer from here on takes half a minute
    time.sleep(1.0)
    stopped = time.monotonic()
    process.send_signal(stop)
    error = process.stderr.read()
    code = process.wait(timeout=60)
    took = time.monotonic() - stopped
    kolada.latency = 0

    assert code == {signal.SIGINT: 130, signal.SIGTERM: 143}[stop], error
    assert took < 10, took
    assert f"interrupted ({stop.name})" in error and "Traceback" not in error
    assert snapshot(warehouse) == before
    last = query(warehouse, "SELECT status, error FROM core.run ORDER BY started_at DESC LIMIT 1")
    assert last == [("interrupted", f"interrupted by {stop.name}")]
    time.sleep(1)
    assert orphaned_prefect_servers() <= orphans
