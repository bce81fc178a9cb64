"""Goal plans: the YAML a municipality writes, parsed, checked and shaped for the warehouse.

- ``model``: the pydantic model of a plan and helpers about it (which KPIs and series it uses).
- ``reading``: bytes and YAML to a checked ``GoalPlan``, with errors that name file, goal, key
  and value.
- ``validation``: the plan's KPI, area and group ids checked against the Kolada catalogue.
- ``rows``: the plan as rows for core.goal_plan, core.goal, core.goal_indicator, core.series.

docs/goal-plans.md explains the format; transforms/rules.py holds the defaults it refers to.
"""

from transforms.goal_plan.model import (
    GoalPlan,
    GoalPlanError,
    PlacedIndicator,
    ScbSegment,
    plan_kpi_ids,
    plan_series_ids,
)
from transforms.goal_plan.reading import decode_plan_text, load_goal_plan, parse_goal_plan
from transforms.goal_plan.rows import (
    GOAL_INDICATOR_SCHEMA,
    GOAL_PLAN_SCHEMA,
    GOAL_SCHEMA,
    SERIES_SCHEMA,
    goal_plan_frames,
)
from transforms.goal_plan.validation import validate_goal_plan
from transforms.rules import DEFAULT_MET_SHARE, DEFAULT_MIN_COVERAGE, DEFAULT_PARTLY_SHARE

__all__ = [
    "DEFAULT_MET_SHARE",
    "DEFAULT_MIN_COVERAGE",
    "DEFAULT_PARTLY_SHARE",
    "GOAL_INDICATOR_SCHEMA",
    "GOAL_PLAN_SCHEMA",
    "GOAL_SCHEMA",
    "SERIES_SCHEMA",
    "GoalPlan",
    "GoalPlanError",
    "PlacedIndicator",
    "ScbSegment",
    "decode_plan_text",
    "goal_plan_frames",
    "load_goal_plan",
    "parse_goal_plan",
    "plan_kpi_ids",
    "plan_series_ids",
    "validate_goal_plan",
]
