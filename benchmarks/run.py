"""Run malbild's benchmarks (GitHub issue #4) and print figure | target | verdict.

    uv run python -m benchmarks.run                  # every section, 5 M observations
    uv run python -m benchmarks.run --only 3 --scale 1000000 --latency-ms 50

Sections: 1 requests, 2 fetch wall time, 3 transform+load throughput vs DuckDB,
4 peak RSS, 5 mart query speed, 6 against dlt (+ Prefect's start-up time, section 7).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.measure import WORK_DIR, run_child
from benchmarks.report import Figure, figures_table, notes

RSS_FRACTIONS = (0.2, 0.5, 1.0)  # 1, 2.5 and 5 M at the default scale
PEER_SCALE = 200_000


def run(
    sections: set[int],
    *,
    latency_ms: float = 50,
    scale: int = 5_000_000,
    peer_scale: int = PEER_SCALE,
    repeats: int = 2,
    work_dir: Path = WORK_DIR,
) -> list[Figure]:
    """Run the chosen sections; their figures in section order."""
    from benchmarks import fetch, load, marts, peer

    work_dir.mkdir(parents=True, exist_ok=True)
    latency = latency_ms / 1000
    figures: list[Figure] = []
    if sections & {1, 2}:
        result = fetch.measure_fetch(latency, work_dir=work_dir)
        figures += [f for f in fetch.fetch_figures(result, latency) if int(f.section) in sections]
    if sections & {3, 4, 5}:
        sizes = (
            sorted({max(1, int(scale * share)) for share in RSS_FRACTIONS})
            if 4 in sections
            else [scale]
        )
        results = {
            size: load.measure_load(size, work_dir, repeats if size == scale else 1)
            for size in sizes
        }
        figures += [f for f in load.load_figures(results, scale) if int(f.section) in sections]
        if 5 in sections:
            result = marts.measure_marts(load.warehouse_path(scale, work_dir))
            figures += marts.mart_figures(result, results[scale]["malbild"]["observations"])
    if 6 in sections:
        figures += peer.peer_figures(peer.measure_peer(peer_scale, latency, work_dir))
    if 7 in sections:
        figures.append(prefect_startup_figure(work_dir))
    return figures


def prefect_startup_figure(work_dir: Path) -> Figure:
    """Prefect's import and first (no-op) flow run with its temporary local API."""
    env = {
        "PREFECT_HOME": str(work_dir / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }
    env = {k: v for k, v in env.items() if k not in os.environ or k == "PREFECT_HOME"}
    result = run_child("benchmarks.prefect_child", {}, env=env)
    return Figure(
        "7",
        "Prefect start-up (import + no-op flow run)",
        f"{result['seconds']:.1f} s (import {result['import_s']:.1f} s)",
        "info",
        None,
        "the orchestrator's share of every `malbild run` without PREFECT_API_URL: it starts "
        "a temporary local API; the pipeline's own figures are sections 1–6",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only",
        type=int,
        action="append",
        choices=range(1, 8),
        help="run only this section (repeatable); 7 is Prefect's start-up",
    )
    parser.add_argument(
        "--latency-ms", type=float, default=50, help="fake servers' latency per request"
    )
    parser.add_argument(
        "--scale", type=int, default=5_000_000, help="observations for sections 3-5"
    )
    parser.add_argument(
        "--peer-scale", type=int, default=PEER_SCALE, help="observations for section 6"
    )
    args = parser.parse_args(argv)
    sections = set(args.only or range(1, 8))
    started = time.perf_counter()
    figures = run(
        sections, latency_ms=args.latency_ms, scale=args.scale, peer_scale=args.peer_scale
    )
    print(
        f"malbild benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, latency {args.latency_ms:g} ms, "
        f"scale {args.scale:,} observations"
    )
    arguments = " ".join(sys.argv[1:] if argv is None else argv)
    print(f"command: uv run python -m benchmarks.run {arguments}".rstrip())
    print()
    print(figures_table(figures))
    print()
    print(notes(figures))
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
