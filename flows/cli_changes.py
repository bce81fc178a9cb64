"""`malbild changes`: what changed for a plan's area since a run or a date, read from the
warehouse's history (the marts as known then, against the marts now)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows import settings
from flows.cli import EXIT_OK, JsonOpt, PlanOpt, WarehouseOpt, app

if TYPE_CHECKING:
    import polars as pl

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Since:
    """The moment compared with now, and how to say it."""

    at: datetime
    described: str


def resolve_since(con: Any, text: str | None, plan_key: str) -> Since | None:
    """``--since``: a date (its midnight, local time), a run (as it left the warehouse),
    or by default the plan's refresh before the latest (what the latest changed). None
    when the plan has had fewer than two refreshes."""
    from flows.cli_lookup import LookupInputError
    from warehouse import queries

    if text is None:
        refreshes = queries.read_refresh_runs_of_plan(con, plan_key)
        if refreshes.height < 2:
            return None
        previous = refreshes.row(1, named=True)
        return Since(previous["ended_at"], f"körning {previous['run_id']}")
    text = text.strip()
    if DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise LookupInputError(f"--since {text!r}: not a date") from None
        return Since(datetime.combine(day, time()).astimezone(), text)
    found = queries.read_runs_starting(con, text)
    if found.height != 1:
        problem = "no run" if found.is_empty() else f"{found.height} runs"
        raise LookupInputError(
            f"--since {text!r}: {problem} with that id; give a run id (malbild runs) or a"
            " date YYYY-MM-DD"
        )
    run = found.row(0, named=True)
    if run["ended_at"] is None:
        raise LookupInputError(f"--since {text!r}: run {run['run_id']} has not ended")
    return Since(run["ended_at"], f"körning {run['run_id']}")


@dataclass(frozen=True)
class ChangeReport:
    plan_id: str
    municipality_id: str
    since: Since | None
    lines: list[str]
    definitions: list[str]
    rows: dict[str, list[dict[str, Any]]]
    sample_data: bool = False  # the values are generated (malbild demo), not statistics


def read_change_report(warehouse: Path, plan_path: Path, since_text: str | None) -> ChangeReport:
    """What changed for the plan's area since ``since_text`` (see resolve_since)."""
    from flows.changes import definition_warnings, read_changes
    from flows.cli_lookup import LookupInputError
    from flows.preflight import read_plan
    from flows.report import change_lines
    from warehouse import queries
    from warehouse.connection import open_warehouse

    plan = read_plan(plan_path).plan
    if not warehouse.exists():
        raise LookupInputError(f"{warehouse}: no warehouse here yet (malbild run makes it)")
    with open_warehouse(warehouse, read_only=True) as con:
        since = resolve_since(con, since_text, plan_path.stem)
        if since is None:
            return ChangeReport(plan.id, plan.municipality, None, [], [], {})
        changes = read_changes(con, plan, since.at)
        definitions = queries.read_definition_changes(con, since.at, plan.id)
    return ChangeReport(
        plan.id,
        plan.municipality,
        since,
        change_lines(changes),
        definition_warnings(definitions),
        {
            "indicators": changes.indicators.to_dicts(),
            "goals": changes.goals.to_dicts(),
            "definitions": definitions.to_dicts(),
        },
        sample_data=_sample(changes.indicators),
    )


def _sample(indicators: pl.DataFrame) -> bool:
    """Whether the changed rows are of generated sample values (malbild demo)."""
    from transforms.rules import ATTRIBUTION, SAMPLE_SOURCE

    return "source" in indicators.columns and ATTRIBUTION[SAMPLE_SOURCE] in indicators["source"]


def show_change_report(report: ChangeReport) -> None:
    """The report as lines on stdout."""
    from rich.text import Text

    from flows.cli_render import local_time, out_console
    from flows.report import SAMPLE_LABEL

    console = out_console()
    if report.sample_data:
        console.print(Text(SAMPLE_LABEL, style="bold black on yellow"), soft_wrap=True)
    if report.since is None:
        console.print(
            Text(
                f"Planen {report.plan_id} har körts en gång (eller inte alls): inget att"
                " jämföra med. Ange --since DATUM eller --since KÖRNING.",
            ),
            soft_wrap=True,
        )
        return
    console.print(
        Text(
            f"Ändringar för {report.plan_id} ({report.municipality_id}) sedan"
            f" {report.since.described} ({local_time(report.since.at, short=False)}):",
            style="bold",
        ),
        soft_wrap=True,
    )
    if not report.lines and not report.definitions:
        console.print(Text("  inga ändringar"), soft_wrap=True)
    for line in report.lines:
        console.print(Text(f"  {line}"), soft_wrap=True)
    for line in report.definitions:
        console.print(Text(f"  {line}", style="yellow"), soft_wrap=True)


def change_json(report: ChangeReport) -> dict[str, Any]:
    return {
        "plan_id": report.plan_id,
        "municipality_id": report.municipality_id,
        "since": report.since.at if report.since else None,
        "since_described": report.since.described if report.since else None,
        "sample_data": report.sample_data,
        "lines": report.lines,
        "definition_warnings": report.definitions,
        **report.rows,
    }


@app.command(rich_help_panel="Run log")
def changes(
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DATE|RUN",
            help="a date YYYY-MM-DD or a run id (default: the plan's refresh before the latest)",
        ),
    ] = None,
    plan: PlanOpt = None,
    warehouse: WarehouseOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """What changed for the plan's municipality since a date or a run.

    Revised, new and deleted values, and the ranks, colours, targets and goal statuses
    that followed; then changed definitions of the KPIs and groups the plan uses.

    Read from the warehouse's history, without the network; `--since RUN` compares with
    the warehouse as that run left it.
    """
    from flows.cli_render import emit_json

    report = read_change_report(
        warehouse or settings.default_warehouse_path(),
        plan or settings.default_plan_path(),
        since,
    )
    if as_json:
        emit_json([change_json(report)])
    else:
        show_change_report(report)
    return EXIT_OK
