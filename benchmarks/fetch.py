"""Sections 1 and 2: requests and wall time of a refresh's fetch against the fakes."""

from __future__ import annotations

import math
import shutil
from collections import deque
from pathlib import Path
from typing import Any

from benchmarks.fakes_running import running_fake
from benchmarks.measure import WORK_DIR, run_child
from benchmarks.report import Figure
from sources.kolada import settings as kolada_settings

VALLENTUNA = Path(__file__).resolve().parent.parent / "goals" / "vallentuna-2024-2026.yaml"
AREAS = 312


def serial_seconds(
    requests: int,
    latency: float,
    *,
    rate: float | None = None,
    window: tuple[int, float] | None = None,
) -> float:
    """Least time a one-at-a-time client needs for ``requests`` under a throttle.

    Each request takes ``latency``; ``rate`` spaces starts evenly, ``window`` allows at
    most ``calls`` starts in any ``seconds``.
    """
    starts: deque[float] = deque()
    end = 0.0
    previous_start = -math.inf
    for _ in range(requests):
        start = end
        if rate is not None:
            start = max(start, previous_start + 1 / rate)
        if window is not None and len(starts) == window[0]:
            start = max(start, starts.popleft() + window[1])
        if window is not None:
            starts.append(start)
        previous_start, end = start, start + latency
    return end


def measure_fetch(
    latency_s: float, plan: Path = VALLENTUNA, work_dir: Path = WORK_DIR
) -> dict[str, Any]:
    """Run the refresh fetch once against fresh fakes; the fetch figures and the fakes' logs."""
    raw_dir = work_dir / "fetch-raw"
    shutil.rmtree(raw_dir, ignore_errors=True)
    with running_fake("kolada", latency_s) as kolada, running_fake("scb", latency_s) as scb:
        result = run_child(
            "benchmarks.fetch_child",
            {
                "workload": "refresh_fetch",
                "plan": str(plan),
                "raw_dir": str(raw_dir),
                "kolada_url": kolada.base_url,
                "scb_url": scb.base_url,
            },
        )
        kolada_log, scb_log = kolada.log(), scb.log()
    result["kolada_log"], result["scb_log"] = kolada_log, scb_log
    return result


def fetch_figures(result: dict[str, Any], latency_s: float) -> list[Figure]:
    """Sections 1 and 2 from one measured fetch."""
    kolada_log, scb_log = result["kolada_log"], result["scb_log"]
    kolada_data = sum(r["data"] for r in kolada_log)
    kolada_meta = len(kolada_log) - kolada_data
    scb_data = sum(r["data"] for r in scb_log)
    scb_meta = len(scb_log) - scb_data
    scb_refused = sum(r["status"] in (400, 429) for r in scb_log)
    per_page = kolada_settings.PER_PAGE
    kolada_queries = len(result["kolada_records_by_query"])
    kolada_min = sum(math.ceil(n / per_page) for n in result["kolada_records_by_query"].values())
    max_cells = result["scb_max_cells"]
    scb_min = sum(math.ceil(c / max_cells) for c in result["scb_cells_by_table"].values())
    scb_queries = result["scb_segments"]
    minimum = kolada_min + scb_min
    actual = kolada_data + scb_data
    allowed = 1.2 * minimum + kolada_queries + scb_queries
    naive_kolada = AREAS * kolada_queries
    naive_scb = AREAS * scb_queries
    rate = kolada_settings.rate_per_second()
    calls, window = result["scb_window"]
    naive_s = serial_seconds(naive_kolada, latency_s, rate=rate) + serial_seconds(
        naive_scb, latency_s, window=(calls, window)
    )
    min_s = serial_seconds(kolada_min + kolada_meta, latency_s, rate=rate) + serial_seconds(
        scb_min + scb_meta, latency_s, window=(calls, window)
    )
    wall = result["seconds"]
    unavailable = result["scb_unavailable"]
    return [
        Figure(
            "1",
            "data requests (Kolada + SCB)",
            f"{actual} ({kolada_data} + {scb_data})",
            f"≤ 1.2 × min {minimum} + {kolada_queries + scb_queries} queries = {allowed:.1f}",
            actual <= allowed,
            f"minimum = Kolada Σ ceil(records/{per_page}) over {kolada_queries} query "
            f"({sum(result['kolada_records_by_query'].values())} records, "
            f"{result['kpis']} KPIs × {len(result['years'])} years × {AREAS} areas) = "
            f"{kolada_min}, + SCB Σ ceil(cells/{max_cells}) over "
            f"{len(result['scb_cells_by_table'])} tables "
            f"({sum(result['scb_cells_by_table'].values())} cells) = {scb_min}",
        ),
        Figure(
            "1",
            "metadata requests (Kolada + SCB)",
            f"{kolada_meta + scb_meta} ({kolada_meta} + {scb_meta})",
            "reported separately",
            None,
            "Kolada: /kpi (2 pages), /municipality, /municipality_groups; "
            "SCB: /config and one /metadata per table",
        ),
        Figure(
            "1",
            "SCB calls refused (400/429)",
            str(scb_refused),
            "0",
            scb_refused == 0,
            f"series SCB could not serve: {unavailable}" if unavailable else "",
        ),
        Figure(
            "1",
            "naive client: one request per area",
            f"{naive_kolada + naive_scb} ({naive_kolada} + {naive_scb})",
            "info",
            None,
            f"{AREAS} areas × {kolada_queries} Kolada query + {AREAS} areas × "
            f"{scb_queries} SCB segments; {naive_s:.0f} s at the same throttles",
        ),
        Figure(
            "2",
            f"fetch wall time at {latency_s * 1000:.0f} ms latency",
            f"{wall:.2f} s (Kolada {result['kolada_s']:.2f} + SCB {result['scb_s']:.2f})",
            f"≤ 1.5 × {min_s:.2f} s = {1.5 * min_s:.2f} s",
            wall <= 1.5 * min_s,
            f"least time for the minimum requests (data minimum + metadata) one at a "
            f"time at Kolada {rate:g}/s and SCB {calls} calls/{window:g} s: {min_s:.2f} s",
        ),
    ]
