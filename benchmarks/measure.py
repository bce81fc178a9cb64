"""Run one workload in a fresh Python process and read back its result and peak RSS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK_DIR = ROOT / "benchmarks" / "work"
RESULT_PREFIX = "BENCHMARK-RESULT "


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM) in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def emit(result: dict[str, Any]) -> None:
    """Print a child's result (with its peak RSS) for ``run_child`` to pick up."""
    print(RESULT_PREFIX + json.dumps({**result, "peak_rss_mb": peak_rss_mb()}), flush=True)


def run_child(
    module: str,
    args: dict[str, Any],
    *,
    python: str = sys.executable,
    env: dict[str, str] | None = None,
    threads: int | None = None,
    timeout: float = 3600,
) -> dict[str, Any]:
    """``python -m module ARGS_JSON`` in a fresh process; its emitted result plus wall time."""
    child_env = {**os.environ, **(env or {})}
    child_env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), child_env.get("PYTHONPATH")])
    )
    if threads is not None:
        child_env["POLARS_MAX_THREADS"] = str(threads)
    started = time.perf_counter()
    done = subprocess.run(
        [python, "-m", module, json.dumps(args)],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    wall = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"{module} failed (exit {done.returncode}):\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return {**json.loads(lines[-1][len(RESULT_PREFIX) :]), "process_wall_s": wall}
