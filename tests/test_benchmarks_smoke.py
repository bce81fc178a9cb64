"""The benchmark harness runs end to end at a tiny scale (its figures are not checked here)."""

from pathlib import Path

import pytest

from benchmarks.run import run


@pytest.mark.e2e
def test_benchmark_sections_run_at_a_tiny_scale(tmp_path: Path) -> None:
    figures = run({1, 2, 3, 5}, latency_ms=0, scale=5_000, repeats=1, work_dir=tmp_path)

    assert {figure.section for figure in figures} == {"1", "2", "3", "5"}
    requests = next(f for f in figures if f.name.startswith("data requests"))
    assert requests.met
