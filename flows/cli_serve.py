"""`malbild serve`: schedule the refresh with Prefect (flows/serve.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from flows import settings
from flows.cli import EXIT_BAD_INPUT, EXIT_OK, WarehouseOpt, app


@app.command(rich_help_panel="Refresh")
def serve(
    plans: Annotated[
        list[Path] | None,
        typer.Option(
            "--plan",
            "-p",
            metavar="FILE",
            help="a goal plan to refresh (repeat for several; default: the example plan)",
        ),
    ] = None,
    warehouse: WarehouseOpt = None,
    daily: Annotated[
        str, typer.Option("--daily", metavar="CRON", help="incremental refresh, local time")
    ] = "0 6 * * *",
    weekly_full: Annotated[
        str,
        typer.Option(
            "--weekly-full", metavar="CRON", help='full refresh, local time ("" for none)'
        ),
    ] = "0 3 * * 0",
    timezone: Annotated[
        str, typer.Option("--timezone", metavar="TZ", help="the schedules' time zone")
    ] = "Europe/Stockholm",
) -> int:
    """Serve the refresh on a schedule, the Prefect way, until stopped (Ctrl-C).

    Per plan, a deployment refreshing incrementally every day and one refreshing in full
    every week, in one process that runs one refresh at a time. Needs a Prefect server:
    `prefect server start`, then PREFECT_API_URL=http://127.0.0.1:4200/api. Runs can
    also be started by hand: `prefect deployment run 'refresh/<plan>'`.
    """
    from flows.cli_refresh import configure_prefect
    from flows.cli_render import note
    from flows.pipeline import InputError
    from flows.serve import Schedule, serve_plans

    chosen = plans or [settings.default_plan_path()]
    for plan in chosen:
        if not plan.is_file():
            raise InputError(f"{plan}: no such goal plan")
    if not os.environ.get("PREFECT_API_URL"):
        note(
            "malbild serve needs a Prefect server: start one with `prefect server start`"
            " and set PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
        return EXIT_BAD_INPUT
    configure_prefect()
    schedule = Schedule(daily, weekly_full or None, timezone)
    serve_plans(chosen, warehouse or settings.default_warehouse_path(), schedule)
    return EXIT_OK
