"""Which of the municipality's own files a plan needs (pure: no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from transforms.goal_plan import GoalPlan


@dataclass(frozen=True)
class OwnFile:
    """One file series: its id and the file, resolved against the plan's folder."""

    series_id: str
    path: Path
    written: str  # the path as the plan writes it, for messages and table_id


def plan_files(plan: GoalPlan, plan_dir: Path) -> list[OwnFile]:
    """Every file series of the plan, in plan order; relative paths start at the plan's folder."""
    return [
        OwnFile(series_id, plan_dir / spec.file, spec.file)
        for series_id, spec in plan.series.items()
        if spec.file is not None
    ]
