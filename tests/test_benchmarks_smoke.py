"""The benchmark harness runs end to end at a tiny scale (its figures are not checked here)."""

from pathlib import Path

import pytest

from benchmarks.real_runs import RealRunSettings
from benchmarks.run import run


@pytest.mark.e2e
def test_benchmark_sections_run_at_a_tiny_scale(tmp_path: Path) -> None:
    figures = run({1, 2, 3, 5}, latency_ms=0, scale=5_000, repeats=1, work_dir=tmp_path)

    assert {figure.section for figure in figures} == {"1", "2", "3", "5"}
    requests = next(f for f in figures if f.name.startswith("data requests"))
    assert requests.met


@pytest.mark.e2e
def test_real_run_sections_run_at_a_tiny_scale(tmp_path: Path) -> None:
    """Sections 8 and 9: real `malbild run` processes (2-3 KPIs × 3 years) with a
    Prefect server, one pair each."""
    tiny = RealRunSettings(
        sizes=(2_000,), floor_kpis=(2,), years=(2022, 2024), pairs=1, warm_up=False
    )

    figures = run({8, 9}, work_dir=tmp_path, real=tiny)

    assert {figure.section for figure in figures} == {"8", "9"}
    names = [figure.name for figure in figures]
    assert any(name.startswith("fresh run") for name in names)
    assert any(name.startswith("time outside the flow") for name in names)
    floor = next(f for f in figures if f.section == "9")
    if "failed" not in floor.value:  # the pipeline's own failures are figures, not errors
        assert "the same data URLs" in floor.note
        assert "fetch" in next(f for f in figures if f.name.startswith("fresh run")).value
    assert not list(tmp_path.glob("prefect-home/*.pid"))
