"""Run one workload in a fresh Python process and read back its result and peak RSS."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
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


# -- a whole command as a fresh process: wall time, exit status, peak RSS ----------------


@dataclass
class ProcessResult:
    """How one command ran: its exit status, wall time and memory."""

    returncode: int
    wall_s: float
    # ru_maxrss of os.wait4: the largest peak RSS of the process itself and of every
    # descendant it waited for (the largest single process, not a sum).
    peak_rss_mb: float
    # Sampled every ``sample_s``: the largest sum of VmRSS over the process and its
    # living descendants at one instant, and the largest VmHWM any of them reported.
    tree_rss_mb: float
    tree_hwm_mb: float
    stopped: str | None  # why the harness ended it (timeout, RSS limit), else None
    stdout: str
    stderr: str


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as file:
                found += [int(child) for child in file.read().split()]
    except OSError:
        pass
    return found


def _tree(pid: int) -> list[int]:
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending += _children(current)
    return tree


def _status_kib(pid: int, *fields: str) -> dict[str, int]:
    found: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                name = line.split(":", 1)[0]
                if name in fields:
                    found[name] = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return found


def run_process(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    log_dir: Path | None = None,
    timeout: float = 3600,
    rss_limit_mb: float | None = None,
    sample_s: float = 0.2,
) -> ProcessResult:
    """Run ``command`` as a fresh process (its own session) and measure it.

    ``env`` is the child's whole environment (None: this process's). Wall time by the
    clock from just before the start to the reaping; peak RSS from
    ``os.wait4`` (``ru_maxrss``, KiB on Linux) and from polling ``/proc`` for the whole
    process tree. Past ``timeout`` seconds, or above ``rss_limit_mb`` summed over the
    tree, the harness ends the process group it started (SIGTERM, then SIGKILL).
    """
    with tempfile.TemporaryDirectory(dir=log_dir) as logs:
        out_path, err_path = Path(logs) / "stdout", Path(logs) / "stderr"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            started = time.perf_counter()
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            watch = _Watch(process.pid, timeout, rss_limit_mb, sample_s, started)
            watch.start()
            try:
                _, status, usage = os.wait4(process.pid, 0)
            except BaseException:  # interrupted: end what this call started, then go on
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                os.wait4(process.pid, 0)
                process.returncode = -signal.SIGKILL
                watch.finish()
                raise
            wall = time.perf_counter() - started
            watch.finish()
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout = out_path.read_text(encoding="utf-8", errors="replace")
        stderr = err_path.read_text(encoding="utf-8", errors="replace")
    return ProcessResult(
        returncode=process.returncode,
        wall_s=wall,
        peak_rss_mb=usage.ru_maxrss / 1024,
        tree_rss_mb=watch.tree_rss_kib / 1024,
        tree_hwm_mb=watch.tree_hwm_kib / 1024,
        stopped=watch.stopped,
        stdout=stdout,
        stderr=stderr,
    )


class _Watch(threading.Thread):
    """Samples a process tree's memory; ends the tree past its time or memory limit."""

    def __init__(
        self, pid: int, timeout: float, rss_limit_mb: float | None, every: float, started: float
    ):
        super().__init__(daemon=True)
        self.pid, self.timeout, self.every, self.started = pid, timeout, every, started
        self.rss_limit_kib = rss_limit_mb * 1024 if rss_limit_mb else None
        self.tree_rss_kib = self.tree_hwm_kib = 0
        self.stopped: str | None = None
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.every):
            total = 0
            for pid in _tree(self.pid):
                found = _status_kib(pid, "VmRSS", "VmHWM")
                total += found.get("VmRSS", 0)
                self.tree_hwm_kib = max(self.tree_hwm_kib, found.get("VmHWM", 0))
            self.tree_rss_kib = max(self.tree_rss_kib, total)
            elapsed = time.perf_counter() - self.started
            if self.stopped is None and elapsed > self.timeout:
                self._end(f"timed out after {self.timeout:.0f} s")
            elif self.stopped is None and self.rss_limit_kib and total > self.rss_limit_kib:
                self._end(f"stopped above {self.rss_limit_kib / 1024:.0f} MB RSS")

    def _end(self, why: str) -> None:
        self.stopped = why
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGTERM)
        if not self._done.wait(10):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)

    def finish(self) -> None:
        self._done.set()
        self.join()
