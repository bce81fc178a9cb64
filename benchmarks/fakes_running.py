"""The fake servers as child processes, for the benchmark sections that fetch over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.measure import ROOT


class RunningFake:
    """One ``benchmarks.serve_fake`` process: its base URL and its request log."""

    def __init__(self, kind: str, latency_s: float):
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.serve_fake", kind, str(latency_s)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http"):
            self.stop()
            raise RuntimeError(f"the fake {kind} server did not start")

    def log(self) -> list[dict[str, Any]]:
        """Every request the fake has answered so far."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("log\n")
        self.process.stdin.flush()
        return list(json.loads(self.process.stdout.readline()))

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def running_fake(kind: str, latency_s: float) -> Iterator[RunningFake]:
    fake = RunningFake(kind, latency_s)
    try:
        yield fake
    finally:
        fake.stop()
