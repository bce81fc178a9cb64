"""Section 5: mart query speed on the loaded synthetic warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.measure import run_child
from benchmarks.report import Figure

MUNICIPALITY = "0115"
YEAR = 2024


def measure_marts(warehouse: Path, threads: int = 2) -> dict[str, Any]:
    return run_child(
        "benchmarks.marts_child",
        {
            "warehouse": str(warehouse),
            "municipality": MUNICIPALITY,
            "year": YEAR,
            "threads": threads,
        },
        threads=threads,
    )


def mart_figures(result: dict[str, Any], observations: int) -> list[Figure]:
    figures = []
    for name in ("goal_summary", "goal_indicator_status"):
        timing = result[name]
        figures.append(
            Figure(
                "5",
                f"mart.{name}, {MUNICIPALITY} {YEAR}, {observations / 1e6:.2f} M obs",
                f"{timing['second_s'] * 1000:.0f} ms (first {timing['first_s'] * 1000:.0f} ms,"
                f" {timing['rows']} rows)",
                "< 200 ms (2nd run)",
                timing["second_s"] < 0.2,
                "through warehouse.queries; the view reads mart.goal_indicator_status_base, "
                "which the load materialises (its build is part of section 3's load time)",
            )
        )
    return figures
