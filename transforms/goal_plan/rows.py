"""A goal plan as warehouse rows: core.goal_plan, core.goal, core.goal_indicator, core.series."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import polars as pl

from transforms.goal_plan.model import GoalPlan, Indicator, PlacedIndicator, plan_series_ids
from transforms.rules import ATTRIBUTION, BETTER_OPERATOR

# Swedish words for target_text, which the marts and reports show as is ("minst som länet").
OPERATOR_TEXT = {">=": "minst", "<=": "högst", ">": "över", "<": "under"}
REFERENCE_TEXT = {"riket": "riket", "county": "länet", "peers": "jämförelsegruppen"}
COLOUR_TEXT = {"green": "grön", "yellow": "gul eller grön"}


GOAL_PLAN_SCHEMA: dict[str, pl.DataType] = {
    "plan_id": pl.String(),
    "title": pl.String(),
    "vision": pl.String(),
    "municipality_id": pl.String(),
    "county_id": pl.String(),
    "first_year": pl.Int32(),
    "last_year": pl.Int32(),
    "default_group_id": pl.String(),
    "status_met_share": pl.Float64(),
    "status_partly_share": pl.Float64(),
    "status_min_coverage": pl.Float64(),
    "note": pl.String(),
    "source_file": pl.String(),
    "content_hash": pl.String(),
    "definition": pl.String(),  # JSON text
    "run_id": pl.String(),
    "loaded_at": pl.Datetime("us", "UTC"),
}

GOAL_SCHEMA: dict[str, pl.DataType] = {
    "plan_id": pl.String(),
    "goal_id": pl.String(),
    "position": pl.Int32(),
    "title": pl.String(),
    "description": pl.String(),
}

GOAL_INDICATOR_SCHEMA: dict[str, pl.DataType] = {
    "plan_id": pl.String(),
    "goal_id": pl.String(),
    "indicator_id": pl.String(),
    "position": pl.Int32(),
    "source": pl.String(),
    "series_id": pl.String(),
    "title": pl.String(),
    "direction": pl.String(),
    "comparison_group_id": pl.String(),
    "from_year": pl.Int32(),
    "target_kind": pl.String(),
    "target_operator": pl.String(),
    "target_value": pl.Float64(),
    "target_reference": pl.String(),
    "target_colour": pl.String(),
    "target_text": pl.String(),
    "note": pl.String(),
    "unavailable_reason": pl.String(),
}

SERIES_SCHEMA: dict[str, pl.DataType] = {
    "series_id": pl.String(),
    "source": pl.String(),
    "title": pl.String(),
    "unit": pl.String(),
    "table_ids": pl.List(pl.String()),
    "definition": pl.String(),  # JSON text
    "attribution": pl.String(),
}


def goal_plan_frames(
    plan: GoalPlan,
    *,
    run_id: str,
    source_file: str,
    content_hash: str,
    loaded_at: datetime | None = None,
) -> dict[str, pl.DataFrame]:
    """Rows for core.goal_plan, core.goal, core.goal_indicator and core.series."""
    header, status = plan.plan, plan.status
    goal_plan = {
        "plan_id": header.id,
        "title": header.title,
        "vision": header.vision,
        "municipality_id": header.municipality,
        "county_id": header.county,
        "first_year": header.years[0],
        "last_year": header.years[1],
        "default_group_id": plan.default_group,
        "status_met_share": status.met_share,
        "status_partly_share": status.partly_share,
        "status_min_coverage": status.min_coverage,
        "note": header.note,
        "source_file": source_file,
        "content_hash": content_hash,
        "definition": json.dumps(
            plan.model_dump(mode="json", exclude_none=True), ensure_ascii=False
        ),
        "run_id": run_id,
        "loaded_at": loaded_at or datetime.now(UTC),
    }
    goals = [
        {
            "plan_id": header.id,
            "goal_id": goal.id,
            "position": position,
            "title": goal.title,
            "description": goal.description,
        }
        for position, goal in enumerate(plan.goals, start=1)
    ]
    indicators = [_indicator_row(plan, placed) for placed in plan.indicators()]
    series = [_series_row(plan, series_id) for series_id in plan_series_ids(plan)]
    return {
        "goal_plan": pl.DataFrame([goal_plan], schema=GOAL_PLAN_SCHEMA),
        "goal": pl.DataFrame(goals, schema=GOAL_SCHEMA),
        "goal_indicator": pl.DataFrame(indicators, schema=GOAL_INDICATOR_SCHEMA),
        "series": pl.DataFrame(series, schema=SERIES_SCHEMA),
    }


def _indicator_row(plan: GoalPlan, placed: PlacedIndicator) -> dict[str, Any]:
    indicator = placed.indicator
    spec = plan.series.get(indicator.series) if indicator.series else None
    return {
        "plan_id": plan.plan.id,
        "goal_id": placed.goal.id,
        "indicator_id": indicator.indicator_id,
        "position": placed.position,
        "source": spec.source if spec else "kolada",
        "series_id": indicator.series_id,
        "title": indicator.title or (spec.title if spec else None),
        "direction": None if indicator.direction == "none" else indicator.direction,
        "comparison_group_id": indicator.compare_with or plan.default_group,
        "from_year": indicator.from_year,
        **_target_columns(indicator),
        "note": indicator.note,
        # Filled downstream when the source has no data for the plan's area.
        "unavailable_reason": None,
    }


def _target_columns(indicator: Indicator) -> dict[str, Any]:
    target = indicator.target
    columns: dict[str, Any] = {
        "target_kind": None,
        "target_operator": None,
        "target_value": None,
        "target_reference": None,
        "target_colour": None,
        "target_text": None,
    }
    if target is None:
        return columns
    columns["target_kind"] = target.kind
    # Parsing made sure op is given whenever direction is none.
    operator = target.op or BETTER_OPERATOR.get(indicator.direction)
    if target.kind == "value":
        columns |= {
            "target_operator": operator,
            "target_value": target.value,
            "target_text": f"{OPERATOR_TEXT[str(operator)]} {_number_text(target.value)}",
        }
    elif target.kind == "compare":
        columns |= {
            "target_operator": operator,
            "target_reference": target.compare,
            "target_text": (
                f"{OPERATOR_TEXT[str(operator)]} som {REFERENCE_TEXT[str(target.compare)]}"
            ),
        }
    elif target.kind == "rank":
        columns |= {
            "target_operator": "<=",
            "target_value": float(target.rank or 0),
            "target_text": f"plats {target.rank} eller bättre",
        }
    else:
        columns |= {
            "target_colour": target.colour,
            "target_text": COLOUR_TEXT[str(target.colour)],
        }
    return columns


def _number_text(value: float | None) -> str:
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:g}".replace(".", ",")


def _series_row(plan: GoalPlan, series_id: str) -> dict[str, Any]:
    spec = plan.series[series_id]
    return {
        "series_id": series_id,
        "source": spec.source,
        "title": spec.title,
        "unit": spec.unit,
        "table_ids": sorted(_series_tables(plan, series_id)),
        "definition": json.dumps(
            spec.model_dump(mode="json", exclude_none=True), ensure_ascii=False
        ),
        "attribution": ATTRIBUTION[spec.source],
    }


def _series_tables(plan: GoalPlan, series_id: str) -> set[str]:
    spec = plan.series[series_id]
    if spec.scb is not None:
        return {segment.table for segment in spec.scb}
    if spec.file is not None:
        return {spec.file}
    inputs = spec.derived.inputs() if spec.derived else []
    return set().union(*(_series_tables(plan, ref) for ref in inputs))
