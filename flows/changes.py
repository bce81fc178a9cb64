"""What a refresh changed for a plan's area, and the definitions that changed under it:
read from the warehouse's history, told in the run summary and by `malbild changes`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import polars as pl

from transforms.goal_plan import GoalPlan
from warehouse import queries


@dataclass(frozen=True)
class Changes:
    """What a refresh (or the time since a moment) changed for a plan's area: per
    indicator and year (queries.read_changes) and per goal (read_goal_changes)."""

    indicators: pl.DataFrame = field(default_factory=pl.DataFrame)
    goals: pl.DataFrame = field(default_factory=pl.DataFrame)

    @property
    def empty(self) -> bool:
        return self.indicators.is_empty() and self.goals.is_empty()


def definition_warnings(changes: pl.DataFrame) -> list[str]:
    """One warning per KPI whose definition, or group whose members, changed, naming the
    plans and goals that use it (``queries.read_definition_changes``)."""
    warnings = []
    for (kind, id_), rows in changes.group_by("kind", "id", maintain_order=True):
        used_by = rows["used_by"][0]
        if kind == "kpi":
            what = "; ".join(
                f"{row['field']}: {_quoted(row['old_value'])} → {_quoted(row['new_value'])}"
                for row in rows.iter_rows(named=True)
            )
            warnings.append(f"{id_}: definitionen har ändrats ({what}); används av {used_by}")
        else:
            left = [row["old_value"] for row in rows.iter_rows(named=True) if row["old_value"]]
            joined = [row["new_value"] for row in rows.iter_rows(named=True) if row["new_value"]]
            parts = []
            if left:
                parts.append(f"ut: {', '.join(left)}")
            if joined:
                parts.append(f"in: {', '.join(joined)}")
            warnings.append(
                f"{id_}: jämförelsegruppens medlemmar har ändrats ({'; '.join(parts)});"
                f" används av {used_by}"
            )
    return warnings


def _quoted(value: str | None) -> str:
    if value is None:
        return "–"
    return f"'{value if len(value) <= 80 else value[:77] + '…'}'"


def read_changes(con: duckdb.DuckDBPyConnection, plan: GoalPlan, since: datetime) -> Changes:
    """What changed for the plan's area between ``since`` and now."""
    return Changes(
        queries.read_changes(con, plan.id, plan.municipality, since),
        queries.read_goal_changes(con, plan.id, plan.municipality, since),
    )
