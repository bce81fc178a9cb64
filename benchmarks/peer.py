"""Section 6: malbild against dlt's REST API source, the same Kolada fetch and load."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from benchmarks.fakes_running import running_fake
from benchmarks.measure import ROOT, WORK_DIR, run_child
from benchmarks.real_runs import LIFTED_RATE
from benchmarks.report import Figure
from benchmarks.synthetic import YEARS, kpis_for
from sources.kolada.planning import plan_data_queries

DLT_PYTHON = ROOT / "benchmarks" / ".venv" / "bin" / "python"


def measure_peer(
    observations: int,
    latency_s: float,
    work_dir: Path = WORK_DIR,
    *,
    rate_per_second: float = LIFTED_RATE,
) -> dict[str, Any]:
    """Both tools fetch the same all-area queries from one fake Kolada and load DuckDB,
    under the same throttle: at most ``rate_per_second`` request starts per second,
    evenly spaced (malbild's ``IntervalLimiter`` through ``MALBILD_KOLADA_RATE``; the
    same rule on dlt's HTTP adapter)."""
    kpi_ids, _ = kpis_for(observations)
    paths = [query.path for query in plan_data_queries(kpi_ids, YEARS)]
    peer_dir = work_dir / "peer"
    shutil.rmtree(peer_dir, ignore_errors=True)
    peer_dir.mkdir(parents=True)
    results: dict[str, Any] = {"paths": len(paths), "rate_per_second": rate_per_second}
    with running_fake("kolada", latency_s) as kolada:
        results["malbild"] = run_child(
            "benchmarks.fetch_child",
            {
                "workload": "kolada_fetch_load",
                "kolada_url": kolada.base_url,
                "kpi_ids": kpi_ids,
                "years": list(YEARS),
                "raw_dir": str(peer_dir / "raw"),
                "warehouse": str(peer_dir / "malbild.duckdb"),
            },
            env={"MALBILD_KOLADA_RATE": f"{rate_per_second:g}"},
        )
        if DLT_PYTHON.exists():
            results["dlt"] = run_child(
                "benchmarks.dlt_peer",
                {
                    "kolada_url": kolada.base_url,
                    "paths": paths,
                    "warehouse": str(peer_dir / "dlt.duckdb"),
                    "pipelines_dir": str(peer_dir / "dlt-pipelines"),
                    "rate_per_second": rate_per_second,
                },
                python=str(DLT_PYTHON),
            )
    return results


def peer_figures(result: dict[str, Any]) -> list[Figure]:
    ours = result["malbild"]
    rate = result["rate_per_second"]
    throttle = f"{rate:g} requests/s" + (" (lifted)" if rate >= LIFTED_RATE else "")
    figures = [
        Figure(
            "6",
            f"malbild fetch+load, {ours['observations'] / 1e6:.2f} M obs ({ours['pages']} pages)",
            f"{ours['seconds']:.1f} s (fetch {ours['fetch_s']:.1f}), "
            f"peak {ours['peak_rss_mb']:.0f} MB",
            "side by side",
            None,
            f"malbild's Kolada client throttled to {throttle} (MALBILD_KOLADA_RATE)",
        ),
    ]
    if "dlt" in result:
        peer = result["dlt"]
        figures.append(
            Figure(
                "6",
                f"dlt {peer['dlt_version']} rest_api → duckdb, "
                f"{peer['observations'] / 1e6:.2f} M values",
                f"{peer['seconds']:.1f} s, peak {peer['peak_rss_mb']:.0f} MB",
                "side by side",
                None,
                f"dlt's defaults, its HTTP adapter throttled to {throttle} as malbild is: "
                f"extract {peer['extract_s']:.1f} s, "
                f"normalize {peer['normalize_s']:.1f} s, load {peer['load_s']:.1f} s into a "
                "parent table and a kolada_data__values child table",
            )
        )
    else:
        figures.append(
            Figure(
                "6",
                "dlt",
                "not installed",
                "benchmarks/.venv",
                None,
                "see README: uv venv benchmarks/.venv && uv pip install ...",
            )
        )
    return figures
