"""`malbild serve`: the refresh flow served the Prefect way, on a schedule.

One process serves a deployment pair per plan: a daily incremental refresh and a weekly
full one, in Europe/Stockholm time. Runs of one served process go one at a time
(`limit=1`), so two refreshes never write the warehouse at once; each deployment also
has a concurrency limit of one, and the warehouse's own lock refuses any other writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TIMEZONE = "Europe/Stockholm"
DAILY_CRON = "0 6 * * *"  # every morning at 06:00
WEEKLY_FULL_CRON = "0 3 * * 0"  # Sundays at 03:00: everything fetched again


@dataclass(frozen=True)
class Schedule:
    """When the served refreshes run (cron strings, local time)."""

    daily: str = DAILY_CRON
    weekly_full: str | None = WEEKLY_FULL_CRON
    timezone: str = TIMEZONE


def deployment_name(plan: Path, full: bool = False) -> str:
    """``vallentuna-2024-2026`` (daily) and ``vallentuna-2024-2026-full`` (weekly)."""
    return plan.stem + ("-full" if full else "")


def deployments(
    plans: Sequence[Path], warehouse: Path, schedule: Schedule = Schedule()
) -> list[Any]:
    """Per plan: the daily incremental deployment and the weekly full one."""
    from prefect.client.schemas.schedules import CronSchedule

    from flows.refresh import refresh

    made = []
    for plan in plans:
        runs = [(False, schedule.daily)]
        if schedule.weekly_full:
            runs.append((True, schedule.weekly_full))
        for full, cron in runs:
            made.append(
                refresh.to_deployment(
                    name=deployment_name(plan, full),
                    schedules=[CronSchedule(cron=cron, timezone=schedule.timezone)],
                    parameters={
                        "plan": str(plan.resolve()),
                        "warehouse": str(warehouse.resolve()),
                        "full": full,
                    },
                    concurrency_limit=1,
                    description=(
                        f"{'Full' if full else 'Incremental'} refresh of {plan.name} into"
                        f" {warehouse} ({cron}, {schedule.timezone})"
                    ),
                    tags=["malbild"],
                )
            )
    return made


def serve_plans(plans: Sequence[Path], warehouse: Path, schedule: Schedule = Schedule()) -> None:
    """Serve the plans' deployments until stopped (Ctrl-C), one run at a time."""
    from prefect import serve

    serve(*deployments(plans, warehouse, schedule), limit=1)
