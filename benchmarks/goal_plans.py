"""A generated goal plan over the synthetic KPIs, so the marts have work (benchmark only)."""

from __future__ import annotations

import hashlib

import yaml

from transforms.goal_plan import GoalPlan, parse_goal_plan

PLAN_ID = "benchmark-synthetic"
INDICATORS_PER_GOAL = 20
# A rotation of the target forms a real plan uses.
_TARGETS = (
    {"compare": "peers"},
    {"compare": "county"},
    {"compare": "riket"},
    {"rank": 72},
    {"value": 100},
)


def _indicator(position: int, kpi: str) -> dict[str, object]:
    direction = "lower" if position % 3 == 2 else "higher"
    target = dict(_TARGETS[position % len(_TARGETS)])
    if "value" in target:
        target["op"] = ">=" if direction == "higher" else "<="
    return {"kpi": kpi, "direction": direction, "target": target}


def synthetic_plan_text(kpi_ids: list[str], first_year: int, last_year: int) -> str:
    """YAML of a plan for Vallentuna following every given KPI, 20 per goal."""
    goals = []
    for start in range(0, len(kpi_ids), INDICATORS_PER_GOAL):
        number = start // INDICATORS_PER_GOAL + 1
        indicators = [
            _indicator(i, kpi)
            for i, kpi in enumerate(kpi_ids[start : start + INDICATORS_PER_GOAL], start=start)
        ]
        goals.append({"id": f"mal-{number}", "title": f"Mål {number}", "indicators": indicators})
    plan = {
        "plan": {
            "id": PLAN_ID,
            "title": "Benchmark plan (generated, SAMPLE data)",
            "municipality": "0115",
            "county": "0001",
            "years": f"{first_year}-{last_year}",
            "note": "Generated for benchmarks/: not a real plan, not real data.",
        },
        "comparisons": {"group": "G37571"},
        "goals": goals,
    }
    return yaml.safe_dump(plan, allow_unicode=True, sort_keys=False)


def synthetic_plan(
    kpi_ids: list[str], first_year: int, last_year: int
) -> tuple[GoalPlan, str, str]:
    """The parsed plan, its text and its content hash."""
    text = synthetic_plan_text(kpi_ids, first_year, last_year)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return parse_goal_plan(text, f"<{PLAN_ID}>"), text, digest
