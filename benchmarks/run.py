"""Run malbild's benchmarks (GitHub issues #4, #9 and #10): figure | target | verdict.

    uv run python -m benchmarks.run                  # sections 1-7, 5 M observations
    uv run python -m benchmarks.run --only 3 --scale 1000000 --latency-ms 50
    uv run python -m benchmarks.run --only 8 --only 9     # real `malbild run`s (long)
    uv run python -m benchmarks.run --only 10             # history, incremental refresh

Sections: 1 requests, 2 fetch wall time, 3 transform+load throughput vs DuckDB,
4 peak RSS, 5 mart query speed, 6 against dlt, 7 Prefect's start-up time,
8 real `malbild run` processes (fresh and no-change, 1/5/14 M observations),
9 a real run against the raw fetch floor (100 and 400 KPIs),
10 history and incremental refresh (no-change runs of the example plan; the history's
storage growth at 5 M observations).
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.history import HistorySettings, history_figures, measure_history
from benchmarks.measure import WORK_DIR, run_child
from benchmarks.real_runs import LIFTED_RATE, RealRunSettings
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
    kolada_rate: float = LIFTED_RATE,
    real: RealRunSettings | None = None,
    history: HistorySettings | None = None,
) -> list[Figure]:
    """Run the chosen sections; their figures in section order.

    ``kolada_rate``: requests per second for both sides of section 6 (sections 8 and 9
    take theirs from ``real``; section 10 keeps Kolada's default throttle).
    ``history``: section 10's settings (its fakes' latency is ``latency_ms``).
    """
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
        figures += peer.peer_figures(
            peer.measure_peer(peer_scale, latency, work_dir, rate_per_second=kolada_rate)
        )
    if 7 in sections:
        figures.append(prefect_startup_figure(work_dir))
    if sections & {8, 9}:
        figures += real_run_sections(sections, real or RealRunSettings(), work_dir)
    if 10 in sections:
        settings = replace(history or HistorySettings(), latency_s=latency)
        figures += history_figures(measure_history(settings, work_dir))
    return figures


def real_run_sections(
    sections: set[int], settings: RealRunSettings, work_dir: Path
) -> list[Figure]:
    """Sections 8 and 9 in one session: the fakes and one Prefect server for both."""
    from benchmarks import real_runs

    figures: list[Figure] = []
    with real_runs.real_run_session(settings, work_dir) as session:
        if 8 in sections:
            result = real_runs.measure_real_runs(session)
            figures += real_runs.real_run_figures(result)
        if 9 in sections:
            result = real_runs.measure_floor_ratio(session)
            figures += real_runs.floor_figures(result)
        notes = "; ".join(session.notes)
    if figures and notes:
        last = figures[-1]
        figures[-1] = Figure(
            last.section, last.name, last.value, last.target, last.met, f"{last.note}; {notes}"
        )
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
        choices=range(1, 11),
        help="run only this section (repeatable); 7 is Prefect's start-up, 8 and 9 real "
        "runs, 10 history and incremental refresh",
    )
    parser.add_argument("--all", action="store_true", help="every section, 8, 9 and 10 included")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=50,
        help="fake servers' latency per request (sections 1, 2, 6 and 10)",
    )
    parser.add_argument(
        "--scale", type=int, default=5_000_000, help="observations for sections 3-5"
    )
    parser.add_argument(
        "--peer-scale", type=int, default=PEER_SCALE, help="observations for section 6"
    )
    parser.add_argument(
        "--repeats", type=int, default=2, help="runs per side for section 3 at --scale"
    )
    parser.add_argument(
        "--kolada-rate",
        type=float,
        default=LIFTED_RATE,
        help="Kolada requests/s for both sides of section 6 and for sections 8-9 "
        f"(default {LIFTED_RATE:g}: lifted)",
    )
    real = parser.add_argument_group("sections 8 and 9 (real `malbild run` processes)")
    real.add_argument(
        "--real-sizes",
        type=_numbers,
        default=RealRunSettings.sizes,
        metavar="N,N,...",
        help="observations per national plan for section 8 (default 1000000,5000000,14000000)",
    )
    real.add_argument(
        "--floor-kpis",
        type=_numbers,
        default=RealRunSettings.floor_kpis,
        metavar="N,N,...",
        help="KPIs per plan for section 9 (default 100,400)",
    )
    real.add_argument(
        "--years", default="2000-2024", metavar="A-B", help="the runs' --years (2000-2024)"
    )
    real.add_argument(
        "--pairs", type=int, default=RealRunSettings.pairs, help="alternated pairs per plan (3)"
    )
    real.add_argument(
        "--real-latency-ms", type=float, default=0, help="the fake Kolada's latency (0)"
    )
    real.add_argument(
        "--budget-min",
        type=float,
        default=None,
        help="per plan: start no pair that would end past this many minutes",
    )
    real.add_argument(
        "--run-timeout-min",
        type=float,
        default=RealRunSettings.run_timeout_s / 60,
        help="end a run after this many minutes (30)",
    )
    real.add_argument(
        "--rss-limit-mb",
        type=float,
        default=RealRunSettings.rss_limit_mb,
        help="end a run whose process tree holds more than this (12288)",
    )
    real.add_argument(
        "--no-warm-up",
        action="store_true",
        help="no unmeasured 1-KPI run before the measured ones",
    )
    real.add_argument(
        "--temporary-api",
        action="store_true",
        help="no Prefect server: each run starts Prefect's temporary API (no split)",
    )
    history = parser.add_argument_group("section 10 (history and incremental refresh)")
    history.add_argument(
        "--no-change-runs",
        type=int,
        default=HistorySettings.no_change_runs,
        help="no-change `malbild run`s of the example plan after its fresh run (3)",
    )
    history.add_argument(
        "--history-scale",
        type=int,
        default=HistorySettings.scale,
        help="observations of the history storage warehouse (5000000)",
    )
    args = parser.parse_args(argv)
    # SIGTERM ends the harness through its `finally`s: fakes, Prefect server and any
    # running `malbild run` are stopped with it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sections = set(range(1, 11) if args.all else args.only or range(1, 8))
    first, _, last = args.years.partition("-")
    real_settings = RealRunSettings(
        sizes=args.real_sizes,
        floor_kpis=args.floor_kpis,
        years=(int(first), int(last or first)),
        pairs=args.pairs,
        latency_s=args.real_latency_ms / 1000,
        kolada_rate=args.kolada_rate,
        prefect_server=not args.temporary_api,
        run_timeout_s=args.run_timeout_min * 60,
        budget_s=args.budget_min * 60 if args.budget_min else None,
        warm_up=not args.no_warm_up,
        rss_limit_mb=args.rss_limit_mb,
    )
    history_settings = HistorySettings(
        no_change_runs=args.no_change_runs,
        scale=args.history_scale,
        prefect_server=not args.temporary_api,
        warm_up=not args.no_warm_up,
        run_timeout_s=args.run_timeout_min * 60,
        rss_limit_mb=args.rss_limit_mb,
    )
    started = time.perf_counter()
    figures = run(
        sections,
        latency_ms=args.latency_ms,
        scale=args.scale,
        peer_scale=args.peer_scale,
        repeats=args.repeats,
        kolada_rate=args.kolada_rate,
        real=real_settings,
        history=history_settings,
    )
    print(
        f"malbild benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
        + (
            f", latency {args.latency_ms:g} ms, scale {args.scale:,} observations"
            if sections & set(range(1, 8))
            else ""
        )
    )
    if sections & {8, 9}:
        print(
            f"sections 8-9: fake Kolada latency {args.real_latency_ms:g} ms, "
            f"MALBILD_KOLADA_RATE={args.kolada_rate:g}, years {args.years}, "
            f"{args.pairs} pairs, "
            + ("Prefect's temporary API per run" if args.temporary_api else "a Prefect server")
        )
    if 10 in sections:
        print(
            f"section 10: fake Kolada and SCB latency {args.latency_ms:g} ms, Kolada's default "
            f"throttle (MALBILD_KOLADA_RATE unset), no --years, {args.no_change_runs} "
            "no-change runs, "
            + ("Prefect's temporary API per run" if args.temporary_api else "a Prefect server")
            + f"; history storage at {args.history_scale:,} SYNTHETIC observations"
        )
    arguments = " ".join(sys.argv[1:] if argv is None else argv)
    print(f"command: uv run python -m benchmarks.run {arguments}".rstrip())
    print()
    print(figures_table(figures))
    print()
    print(notes(figures))
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    return 0


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())


if __name__ == "__main__":
    raise SystemExit(main())
