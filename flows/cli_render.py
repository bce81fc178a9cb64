"""How `malbild` shows things: rich tables that fit the terminal, JSON, run details."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

Row = Mapping[str, Any]

GAP = 2  # characters between columns (collapsed padding of one on each side)

STATUS_STYLES = {
    "succeeded": "green",
    "failed": "bold red",
    "refused": "yellow",
    "running": "cyan",
    "interrupted": "yellow",
    "abandoned": "red",
}
GOAL_STATUS_STYLES = {
    "uppfyllt": "green",
    "delvis uppfyllt": "yellow",
    "ej uppfyllt": "red",
    "underlag saknas": "dim",
}


def out_console() -> Console:
    """The console for results (stdout); made per command so COLUMNS and capture apply."""
    return Console(highlight=False)


def err_console() -> Console:
    """The console for progress and notes (stderr)."""
    return Console(stderr=True, highlight=False)


def render(console: Console, *renderables: Any) -> None:
    """Print to the console; off a terminal without the padding rich adds to each line."""
    if console.is_terminal:
        console.print(*renderables)
        return
    with console.capture() as captured:
        console.print(*renderables)
    lines = captured.get().splitlines()
    console.file.write("".join(line.rstrip() + "\n" for line in lines))


def note(text: str, style: str = "dim") -> None:
    """One line for the user on stderr, never wrapped by rich (it may name paths)."""
    err_console().print(Text(text, style=style), soft_wrap=True)


# -- values --------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """A value as JSON has it: dates and times as ISO strings, paths as text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value


def emit_json(rows: Sequence[Row]) -> None:
    """A list of objects on stdout, and nothing else."""
    sys.stdout.write(json.dumps(jsonable(list(rows)), ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def number(value: Any) -> str:
    """An integer with its thousands spaced ("35 256"), or "–" when absent."""
    if value is None:
        return "–"
    return f"{int(value):,}".replace(",", " ")


def local_time(value: datetime | None, *, short: bool = True) -> str:
    """A timestamp in the machine's time zone: short "12-01 16:37" in the current year."""
    if value is None:
        return "–"
    local = value.astimezone()
    if not short:
        return f"{local:%Y-%m-%d %H:%M:%S}"
    if local.year == datetime.now().astimezone().year:
        return f"{local:%m-%d %H:%M}"
    return f"{local:%Y-%m-%d}"


def duration(start: datetime | None, end: datetime | None) -> str:
    """Elapsed time as "14s", "2m05s" or "1h02m"; "–" while unknown."""
    if start is None or end is None:
        return "–"
    seconds = max(0, round((end - start).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def styled(value: Any, styles: Mapping[str, str]) -> Text:
    text = "–" if value is None else str(value)
    return Text(text, style=styles.get(text, ""))


def yes_no(value: Any) -> str:
    return "–" if value is None else ("ja" if value else "nej")


def plain(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return local_time(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# -- tables --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Col:
    """One column: its key, heading, how a cell is shown, and when it gives way."""

    key: str
    header: str
    fixed: bool = False  # ids, numbers, dates: never wrapped
    right: bool = False
    drop: int = 0  # > 0: left out when the terminal is too narrow, highest first
    least: int = 10  # a wrapping column may narrow to this before others are dropped
    overflow: Literal["fold", "ellipsis"] = "fold"
    show: Callable[[Any], str | Text] = plain


def _cell(col: Col, row: Row) -> Text:
    shown = col.show(row.get(col.key))
    return shown if isinstance(shown, Text) else Text(shown)


def _needed(cols: Sequence[Col], cells: Mapping[str, list[Text]]) -> int:
    total = 0
    for col in cols:
        widest = max([len(col.header), *(cell.cell_len for cell in cells[col.key])])
        total += widest if col.fixed else min(widest, col.least)
    return total + GAP * (len(cols) - 1)


def fit_columns(
    cols: Sequence[Col], rows: Sequence[Row], width: int
) -> tuple[list[Col], list[Col], dict[str, list[Text]]]:
    """The columns that fit ``width`` (dropping the droppable ones, highest first)."""
    cells = {col.key: [_cell(col, row) for row in rows] for col in cols}
    kept = list(cols)
    dropped: list[Col] = []
    while _needed(kept, cells) > width:
        candidates = [col for col in kept if col.drop]
        if not candidates:
            break
        worst = max(candidates, key=lambda col: col.drop)
        kept.remove(worst)
        dropped.append(worst)
    return kept, dropped, cells


def table(
    rows: Sequence[Row],
    cols: Sequence[Col],
    console: Console,
    *,
    title: str | None = None,
    caption: str | None = None,
    hint: str | None = "se --json",
) -> Table:
    """A borderless table that fits the console, naming the columns left out."""
    kept, dropped, cells = fit_columns(cols, rows, console.width)
    notes = [caption] if caption else []
    if dropped:
        hidden = ", ".join(col.header for col in reversed(dropped))
        notes.append(f"dolda kolumner: {hidden}" + (f" ({hint})" if hint else ""))
    grid = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
        header_style="bold",
        # Text, not str: a title quotes the user's words, which rich would read as markup.
        title=Text(title) if title else None,
        title_justify="left",
        title_style="bold",
        caption=Text("\n".join(notes)) if notes else None,
        caption_justify="left",
        caption_style="dim",
    )
    for col in kept:
        grid.add_column(
            col.header,
            no_wrap=col.fixed,
            overflow="ellipsis" if col.fixed else col.overflow,
            justify="right" if col.right else "left",
        )
    for index in range(len(rows)):
        grid.add_row(*(cells[col.key][index] for col in kept))
    return grid


def cut_notice(shown: int, total: int) -> str | None:
    """The "visar 40 av 312 rader" line when rows were left out."""
    if shown >= total:
        return None
    return f"visar {shown} av {total} rader; --limit N visar fler"


def show_rows(
    rows: Sequence[Row],
    cols: Sequence[Col],
    *,
    total: int | None = None,
    as_json: bool = False,
    title: str | None = None,
    empty: str = "Inga träffar.",
) -> None:
    """Rows as a table on stdout (or JSON), saying when ``total`` rows were cut."""
    notice = cut_notice(len(rows), total if total is not None else len(rows))
    if as_json:
        emit_json(rows)
        if notice:
            note(notice)
        return
    console = out_console()
    if not rows:
        console.print(Text(empty, style="yellow"))
        return
    render(console, table(rows, cols, console, title=title, caption=notice))


# -- what each command shows ---------------------------------------------------------------

KPI_COLUMNS = (
    Col("id", "id", fixed=True),
    Col("title", "titel", least=30),
    Col("municipality_type", "för", fixed=True, drop=3),
    Col("is_divided_by_gender", "kön", fixed=True, drop=2, show=yes_no),
    Col("publication_date", "publiceras", fixed=True, drop=4),
    Col("operating_area", "område", drop=5, least=16),
)
AREA_COLUMNS = (
    Col("id", "id", fixed=True),
    Col("title", "namn", least=30),
    Col("kind", "typ", fixed=True),
    Col("members", "medlemmar", fixed=True, right=True, drop=1),
)
SCB_TABLE_COLUMNS = (
    Col("id", "tabell", fixed=True),
    Col("label", "titel", least=30),
    Col("first_period", "från", fixed=True, drop=3),
    Col("last_period", "till", fixed=True, drop=2),
    Col("updated", "uppdaterad", fixed=True, drop=4, show=lambda v: plain(v)[:10]),
    Col("variables", "variabler", drop=5, least=16),
)
SCB_VARIABLE_COLUMNS = (
    Col("kind", "slag", fixed=True),
    Col("code", "kod", fixed=True),
    Col("label", "benämning", least=20),
    Col("detail", "detaljer", least=24),
)
RUN_COLUMNS = (
    Col("run_id", "körning", fixed=True),
    Col("kind", "typ", fixed=True, drop=8),
    Col("plan_shown", "plan", least=8, overflow="ellipsis"),
    Col("status", "status", fixed=True, show=lambda v: styled(v, STATUS_STYLES)),
    Col("started_at", "start", fixed=True),
    Col("duration", "tid", fixed=True, right=True, drop=5),
    Col("requests_made", "anrop", fixed=True, right=True, drop=7, show=number),
    Col("rows_inserted", "nya", fixed=True, right=True, drop=6, show=number),
    Col("rows_updated", "ändr", fixed=True, right=True, drop=10, show=number),
    Col("rows_unchanged", "samma", fixed=True, right=True, drop=9, show=number),
    Col(
        "warning_count",
        "varn",
        fixed=True,
        right=True,
        drop=4,
        show=lambda v: Text(str(v), style="yellow" if v else "dim"),
    ),
)
REQUEST_COLUMNS = (
    Col("source", "källa", fixed=True),
    Col("kind", "typ", fixed=True),
    Col("requests", "svar", fixed=True, right=True, show=number),
    Col("failed", "fel", fixed=True, right=True, show=number),
    Col("bytes", "byte", fixed=True, right=True, show=number),
)
GOAL_COLUMNS = (
    Col("goal_id", "mål", fixed=True),
    Col("goal_title", "titel", drop=6, least=16),
    Col("year", "år", fixed=True),
    Col("status", "status", fixed=True, show=lambda v: styled(v, GOAL_STATUS_STYLES)),
    Col("green", "grön", fixed=True, right=True, drop=1),
    Col("yellow", "gul", fixed=True, right=True, drop=2),
    Col("red", "röd", fixed=True, right=True, drop=3),
    Col("grey", "grå", fixed=True, right=True, drop=4),
    Col("targets", "nådda målvärden", fixed=True, right=True, drop=5),
)


# What run_rows adds for the table; JSON leaves it out.
SHOWN_ONLY = ("duration", "warning_count", "plan_shown")


def run_rows(runs: Sequence[Row]) -> list[dict[str, Any]]:
    """The run log's rows with their duration, number of warnings and plan to show."""
    return [
        {
            **run,
            "duration": duration(run.get("started_at"), run.get("ended_at")),
            "warning_count": len(run.get("warnings") or []),
            # A rebuild has no plan: its kind stands there, so narrow terminals tell it apart.
            "plan_shown": run.get("plan_id") or f"({run.get('kind')})",
        }
        for run in runs
    ]


def run_json(run: Row) -> dict[str, Any]:
    """A run as JSON: its parameters as an object, its duration in seconds."""
    started, ended = run.get("started_at"), run.get("ended_at")
    seconds = (ended - started).total_seconds() if started and ended else None
    return {
        **{key: value for key, value in run.items() if key not in SHOWN_ONLY},
        "parameters": parameters(run.get("parameters")),
        "duration_seconds": seconds,
    }


def parameters(value: Any) -> Any:
    """The run's parameters (stored as JSON text) as an object."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def show_run(run: Row, requests: Sequence[Row]) -> None:
    """Every field of one run, its warnings one per line, its requests by kind."""
    console = out_console()
    console.print(Text.assemble(("Körning ", "bold"), (str(run["run_id"]), "bold")), soft_wrap=True)
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="dim", no_wrap=True)
    fields.add_column(overflow="fold")
    rows = run.get("rows_inserted"), run.get("rows_updated"), run.get("rows_unchanged")
    for label, value in (
        ("typ", plain(run.get("kind"))),
        ("plan", plain(run.get("plan_id"))),
        ("status", styled(run.get("status"), STATUS_STYLES)),
        ("start", local_time(run.get("started_at"), short=False) + " (lokal tid)"),
        ("slut", local_time(run.get("ended_at"), short=False)),
        ("tid", duration(run.get("started_at"), run.get("ended_at"))),
        ("anrop", number(run.get("requests_made"))),
        ("rader", "{} nya, {} ändrade, {} oförändrade".format(*map(number, rows))),
        ("varningar", str(len(run.get("warnings") or []))),
        ("fel", Text(run.get("error") or "–", style="red" if run.get("error") else "")),
    ):
        fields.add_row(label, value)
    render(console, fields)
    warnings = run.get("warnings") or []
    if warnings:
        console.print(Text(f"\nVarningar ({len(warnings)})", style="bold"))
        for warning in warnings:
            console.print(Text(f"  - {warning}", style="yellow"), soft_wrap=True)
    console.print(Text("\nParametrar", style="bold"))
    console.print_json(data=parameters(run.get("parameters")) or {}, indent=2)
    console.print()
    if requests:
        render(
            console, table(requests, REQUEST_COLUMNS, console, title="Svar per slag (raw.response)")
        )
    else:
        console.print(Text("Inga svar i raw.response för körningen.", style="dim"))


def requests_by_kind(responses: Sequence[Row]) -> list[dict[str, Any]]:
    """raw.response rows counted by source and kind: answers, failures, bytes."""
    counts: dict[tuple[str, str], dict[str, Any]] = {}
    for row in responses:
        key = (str(row.get("source")), str(row.get("kind")))
        found = counts.setdefault(
            key, {"source": key[0], "kind": key[1], "requests": 0, "failed": 0, "bytes": 0}
        )
        found["requests"] += 1
        found["failed"] += int((row.get("status") or 0) >= 400)
        found["bytes"] += row.get("bytes") or 0
    return [counts[key] for key in sorted(counts)]


def check_rows(
    provided: dict[str, list[str]], problems: dict[str, str], not_checked: dict[str, str]
) -> list[dict[str, Any]]:
    """One object per source of the plan: checked or not (and why), and its problems."""
    return [
        {
            "source": name,
            "checked": name not in not_checked,
            "not_checked_reason": not_checked.get(name),
            "problems": [
                {"series": series_id, "reason": reason}
                for series_id, reason in problems.items()
                if series_id in series_ids
            ],
        }
        for name, series_ids in provided.items()
    ]
