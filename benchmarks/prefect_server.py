"""A Prefect server for the real-run sections, and what its API says about a run.

``PrefectServer`` runs ``uv run prefect server start`` on a free port of 127.0.0.1 in
a process group of its own (PREFECT_HOME under ``benchmarks/work``, analytics off),
waits until ``GET /api/health`` answers and ends that group when done. ``flow_runs_since``
and ``task_runs_of`` read the API (``POST /api/flow_runs/filter``, ``POST
/api/task_runs/filter``); ``task_split`` turns task runs into the fetch / parse / load /
marts split of a run.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from benchmarks.measure import ROOT

SERVER_COMMAND = ("uv", "run", "prefect", "server", "start")
# Task names (Prefect adds "-" and 3 hex digits to a task run's default name) → parts.
CATEGORIES = (
    ("marts", ("mart",)),
    ("fetch", ("fetch", "download")),
    ("parse", ("transform", "parse", "stage", "flatten")),
    ("load", ("load", "merge", "write")),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prefect_env(home: Path) -> dict[str, str]:
    """The settings every Prefect process of a session shares (server and runs)."""
    return {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


class PrefectServer:
    """``prefect server start`` in the background, for as long as the ``with`` lasts."""

    def __init__(self, home: Path, *, port: int | None = None, startup_timeout: float = 180):
        self.home = home
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_s = 0.0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> PrefectServer:
        self.home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **prefect_env(self.home)}
        env.pop("PREFECT_API_URL", None)
        command = [*SERVER_COMMAND, "--host", "127.0.0.1", "--port", str(self.port)]
        started = time.perf_counter()
        with open(self.home / "server.log", "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        while time.perf_counter() - started < self.startup_timeout:
            if self.process.poll() is not None:
                break
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.api_url}/health", timeout=2).ok:
                    self.startup_s = time.perf_counter() - started
                    return self
            time.sleep(0.25)
        tail = (self.home / "server.log").read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"the Prefect server did not answer /api/health:\n{tail}")

    def stop(self) -> None:
        """End the server's process group (only the processes this object started)."""
        if self.process is None or self.process.returncode is not None:
            return
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def __enter__(self) -> PrefectServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# -- the API ---------------------------------------------------------------------------


def _post(api_url: str, path: str, body: Mapping[str, Any]) -> list[dict[str, Any]]:
    answer = requests.post(f"{api_url}{path}", json=body, timeout=30)
    answer.raise_for_status()
    return list(answer.json())


def _paged(api_url: str, path: str, body: Mapping[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        page = _post(api_url, path, {**body, "limit": 200, "offset": len(found)})
        found += page
        if len(page) < 200:
            return found


def flow_runs_since(api_url: str, since: datetime) -> list[dict[str, Any]]:
    """The top-level flow runs created after ``since`` (an aware datetime), oldest first."""
    runs = _paged(
        api_url,
        "/flow_runs/filter",
        {
            "flow_runs": {"expected_start_time": {"after_": since.isoformat()}},
            "sort": "EXPECTED_START_TIME_ASC",
        },
    )
    return [run for run in runs if not run.get("parent_task_run_id")]


def task_runs_of(
    api_url: str, flow_run_id: str, *, settle_s: float = 20, every: float = 0.5
) -> list[dict[str, Any]]:
    """The flow run's task runs, once the server has recorded them all.

    Prefect 3 clients report task-run states as events, which the server records a
    moment later: read until every task run has ended and two reads agree.
    """
    deadline = time.monotonic() + settle_s
    previous: list[tuple[Any, ...]] | None = None
    while True:
        runs = _paged(
            api_url,
            "/task_runs/filter",
            {"flow_runs": {"id": {"any_": [flow_run_id]}}, "sort": "EXPECTED_START_TIME_ASC"},
        )
        key = sorted((r["id"], r.get("state_type"), r.get("end_time")) for r in runs)
        ended = all(r.get("end_time") for r in runs)
        if (ended and key == previous) or time.monotonic() > deadline:
            return runs
        previous = key
        time.sleep(every)


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def run_seconds(run: Mapping[str, Any]) -> float | None:
    """A flow or task run's time from its start (Running) to its end."""
    start, end = parse_time(run.get("start_time")), parse_time(run.get("end_time"))
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def base_name(task_run: Mapping[str, Any]) -> str:
    """A task run's name without Prefect's ``-3b5`` suffix."""
    return re.sub(r"-[0-9a-f]{3}$", "", str(task_run.get("name") or "?"))


def category(name: str) -> str:
    lowered = name.lower()
    for part, words in CATEGORIES:
        if any(word in lowered for word in words):
            return part
    return name


def _union_seconds(spans: Iterable[tuple[datetime, datetime]]) -> float:
    """Time covered by the spans (overlaps counted once)."""
    total, end = 0.0, None
    for start, stop in sorted(spans):
        if end is None or start > end:
            total += (stop - start).total_seconds()
            end = stop
        elif stop > end:
            total += (stop - end).total_seconds()
            end = stop
    return total


def task_split(task_runs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Seconds per part (fetch, parse, load, marts, other task names): the wall time the
    part's task runs cover, overlaps counted once; and the task runs' names per part."""
    spans: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    names: dict[str, set[str]] = defaultdict(set)
    for run in task_runs:
        start, end = parse_time(run.get("start_time")), parse_time(run.get("end_time"))
        if start is None or end is None:
            continue
        part = category(base_name(run))
        spans[part].append((start, end))
        names[part].add(base_name(run))
    return {
        "seconds": {part: _union_seconds(found) for part, found in spans.items()},
        "tasks": {part: sorted(found) for part, found in names.items()},
    }
