"""The benchmark harness runs end to end at a tiny scale (its figures are not checked here)."""

from pathlib import Path

import pytest

from benchmarks.history import HistorySettings
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


@pytest.mark.e2e
def test_history_section_runs_at_a_tiny_scale(tmp_path: Path) -> None:
    """Section 10: the example plan fresh, then once unchanged (real `malbild run`s with a
    Prefect server), and the history's storage at 20,000 observations, two revisions."""
    tiny = HistorySettings(no_change_runs=1, scale=20_000, revisions=(0.001, 0.05), warm_up=False)

    figures = run({10}, latency_ms=0, work_dir=tmp_path, history=tiny)

    assert {figure.section for figure in figures} == {"10"}
    by_name = {figure.name: figure for figure in figures}
    fresh = by_name["fresh run of vallentuna-2024-2026.yaml"]
    assert "failed" not in fresh.value and "timed out" not in fresh.value
    # The fresh run asked Kolada's data and SCB's tables; the no-change run at most once
    # per query, without an SCB data call, and changed nothing.
    assert "SCB 1 config" in fresh.note and " + 0 data" not in fresh.note
    kolada = by_name["Kolada data requests, no-change run"]
    assert kolada.met and "all with from_date" in kolada.note
    assert by_name["SCB requests, no-change run"].met
    assert by_name["run log of the no-change runs"].met
    assert by_name["Kolada catalogue requests, no-change run"].value == "4"
    for name in (
        "no-change run beyond Prefect's start-up",
        "whole no-change run (process wall time)",
    ):
        assert by_name[name].value.endswith(" s")
    first = next(f for f in figures if f.name.startswith("first load, 20,000 obs"))
    assert "20,000 history rows" in first.note
    revisions = [f for f in figures if f.name.startswith("revise ")]
    assert len(revisions) == 4  # two fractions × two patterns
    assert all("history +" in f.value for f in revisions)
    assert any(f.name.startswith("revising load ∝ revised rows") for f in figures)
    assert not list(tmp_path.glob("prefect-home/*.pid"))
    assert not (tmp_path / "history").exists()  # the storage warehouses are removed
