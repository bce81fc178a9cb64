"""Checks of a parsed goal plan against the Kolada catalogue: KPI, area and group ids.

SCB series specs are checked against SCB table metadata by the code that fetches that metadata.
"""

from __future__ import annotations

from transforms.catalogue import Catalogue
from transforms.goal_plan.model import GoalPlan, GoalPlanError
from transforms.rules import RIKET_ID

NOT_A_GROUP = "is not a Kolada municipality group"


def validate_goal_plan(plan: GoalPlan, catalogue: Catalogue) -> None:
    """Check the plan's KPI, area and group ids against Kolada; raise with every problem."""
    source = plan.source
    kpi_types = dict(zip(catalogue.kpis["id"], catalogue.kpis["municipality_type"], strict=True))
    area_types = dict(
        zip(catalogue.municipalities["id"], catalogue.municipalities["type"], strict=True)
    )
    groups = set(catalogue.groups["id"])
    problems: list[str] = []

    municipality = plan.municipality
    focus_type = area_types.get(municipality)
    if focus_type is None:
        problems.append(
            f"{source}: plan: municipality '{municipality}' is not a Kolada municipality or region"
        )
    county = plan.county
    if county is not None and (area_types.get(county) != "L" or county == RIKET_ID):
        problems.append(
            f"{source}: plan: county '{county}' is not a Kolada region (type L, not Riket 0000)"
        )
    if plan.default_group is not None and plan.default_group not in groups:
        problems.append(f"{source}: comparisons: group '{plan.default_group}' {NOT_A_GROUP}")

    for placed in plan.indicators():
        indicator, where = placed.indicator, placed.where(source)
        if indicator.kpi is not None:
            kpi_type = kpi_types.get(indicator.kpi)
            if kpi_type is None:
                problems.append(f"{where}: kpi '{indicator.kpi}' is not in the Kolada catalogue")
            elif not _kpi_covers(kpi_type, municipality, focus_type):
                only, focus = ("regions", "kommun") if kpi_type == "L" else ("kommuner", "region")
                problems.append(
                    f"{where}: kpi '{indicator.kpi}' is published for {only} only, but "
                    f"municipality '{municipality}' is a {focus}"
                )
        if indicator.compare_with is not None and indicator.compare_with not in groups:
            problems.append(f"{where}: compare_with '{indicator.compare_with}' {NOT_A_GROUP}")
    if problems:
        raise GoalPlanError(problems)


def _kpi_covers(kpi_type: str, municipality: str, area_type: str | None) -> bool:
    """Whether Kolada publishes a KPI of this type (K, L, A) for the area."""
    # Riket has values for kommun and region KPIs alike; an unknown area is reported above.
    return kpi_type == "A" or municipality == RIKET_ID or area_type in (None, kpi_type)
