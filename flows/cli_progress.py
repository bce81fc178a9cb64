"""What `malbild run` and `demo` show while they work: a spinner per step on stderr, a
line as each step ends, and the goal status table at the end.

The steps inside the Prefect flow are followed through Prefect's own log records (each
task logs what it did and "Finished in state …"), so the flow needs no knowledge of
the terminal.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.status import Status
from rich.text import Text

from flows.cli_refresh import SOURCE_NAMES
from flows.cli_render import GOAL_COLUMNS, err_console, number, out_console, render, table

if TYPE_CHECKING:
    from flows.pipeline import RefreshResult

STEP_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
FINISHED = "Finished in state"
COMPLETED = "Finished in state Completed"
# With --debug every record of ours is shown whole, traceback included.
DEBUG_FORMATTER = logging.Formatter("%(levelname)s %(name)s: %(message)s")


class RunProgress:
    """Steps of a refresh on stderr: a spinner while one runs, a timed line when it ends."""

    def __init__(self, *, debug: bool = False, console: Console | None = None):
        self.console = console or err_console()
        # Prefect writes its own lines in --debug; a spinner would be torn by them.
        self.animated = self.console.is_terminal and not debug
        self.debug = debug
        self._status: Status | None = None
        self._started = time.monotonic()

    def start(self, text: str) -> None:
        """A step begins: the spinner (in a terminal) says so."""
        self._started = time.monotonic()
        if not self.animated:
            return
        if self._status is None:
            self._status = self.console.status(Text(text), spinner="dots")
            self._status.start()
        else:
            self._status.update(Text(text))

    def done(self, text: str, *, since: float | None = None) -> None:
        """A step ended well: one line with how long it took."""
        elapsed = time.monotonic() - (since if since is not None else self._started)
        self.console.print(
            Text.assemble(("✓ ", "green"), text, (f"  ({elapsed:.1f} s)", "dim")), soft_wrap=True
        )

    def failed(self, text: str) -> None:
        """A step failed: marked in a terminal; elsewhere the one-line error says it all."""
        self.stop()
        if self.animated:
            self.console.print(Text.assemble(("✗ ", "bold red"), text), soft_wrap=True)

    def warn(self, text: str) -> None:
        self.console.print(Text.assemble(("! ", "yellow"), (text, "yellow")), soft_wrap=True)

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


class FlowSteps(logging.Handler):
    """The flow's log records as progress steps; any other warning as one line."""

    def __init__(self, progress: RunProgress, sources: Sequence[str]):
        super().__init__(level=logging.DEBUG)
        self.progress = progress
        self.sources = list(sources)
        self.pending: set[str] = set()
        self.messages: dict[str, str] = {}
        self.fetch_started = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if record.name in STEP_LOGGERS:
                self._step(record)
            elif self.progress.debug:
                if not record.name.startswith("prefect"):  # Prefect's console shows those
                    text = Text(DEBUG_FORMATTER.format(record), style="dim")
                    self.progress.console.print(text, soft_wrap=True)
            elif record.levelno >= logging.WARNING:
                # One line, never a traceback: that is what --debug is for.
                self.progress.warn(record.getMessage().splitlines()[0])
        except Exception:
            self.handleError(record)

    def _step(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        task = getattr(record, "task_name", None)
        name = str(getattr(record, "task_run_name", task))
        progress = self.progress
        if record.name == "prefect.flow_runs":
            if message.startswith("Beginning flow run"):
                flow_run = getattr(record, "flow_run_name", "?")
                progress.done(f"Prefect startat (flödeskörning {flow_run})")
                progress.start("Läser förkontrollen ur landningen")
            elif message.startswith(FINISHED) and not message.startswith(COMPLETED):
                progress.failed("Flödet misslyckades")
            elif message.startswith(FINISHED):
                progress.stop()
            return
        if not message.startswith(FINISHED):
            self.messages[name] = message.splitlines()[0]
            if record.levelno == logging.WARNING and not self.progress.debug:
                progress.warn(f"{name}: {self.messages[name]}")
            return
        if not message.startswith(COMPLETED):
            progress.failed(f"{name} misslyckades")
            return
        said = self.messages.get(name, name)
        if task == "preflight":
            self.pending = set(self.sources)
            self.fetch_started = time.monotonic()
            progress.start(self._fetching())
        elif task == "fetch":
            progress.done(said, since=self.fetch_started)
            self.pending.discard(name.removeprefix("fetch "))
            if self.pending:
                progress.start(self._fetching())
            else:
                progress.start("Omvandlar och kontrollerar observationerna")
        elif task == "transform":
            progress.done(said)
            progress.start("Laddar lagret i en transaktion och bygger om marts")
        elif task == "load":
            progress.done(said)
            progress.start("Avslutar körningen")
        else:  # a step this display does not know yet still says it ended
            progress.done(said)

    def _fetching(self) -> str:
        names = ", ".join(SOURCE_NAMES.get(name, name) for name in sorted(self.pending))
        return f"Hämtar från {names}"


class OnlyPrefect(logging.Filter):
    """Prefect's console shows Prefect's records with --debug (FlowSteps shows ours), else none."""

    def __init__(self, debug: bool):
        super().__init__()
        self.debug = debug

    def filter(self, record: logging.LogRecord) -> bool:
        return self.debug and record.name.startswith("prefect")


class FollowedFlow:
    """FlowSteps on the root logger, and Prefect's console quieted, for one refresh."""

    def __init__(self, progress: RunProgress, sources: Sequence[str], keep_quiet: bool = False):
        self.steps = FlowSteps(progress, sources)
        self.quiet = OnlyPrefect(progress.debug)
        # The program's last Prefect line ("Stopping temporary server") comes at exit.
        self.keep_quiet = keep_quiet

    def attach(self) -> None:
        """(Again) after Prefect's import: its logging set-up replaces the root's handlers."""
        root = logging.getLogger()
        if self.steps not in root.handlers:
            root.addHandler(self.steps)
        for handler in root.handlers:
            if type(handler).__name__ == "PrefectConsoleHandler":
                handler.addFilter(self.quiet)

    def detach(self) -> None:
        root = logging.getLogger()
        root.removeHandler(self.steps)
        for handler in root.handlers if not self.keep_quiet else ():
            handler.removeFilter(self.quiet)
        self.steps.progress.stop()


@contextmanager
def following_flow(
    progress: RunProgress, sources: Sequence[str], *, keep_quiet: bool = False
) -> Iterator[FollowedFlow]:
    """Follow a refresh's steps and warnings; attach() again after Prefect's import."""
    followed = FollowedFlow(progress, sources, keep_quiet)
    followed.attach()
    try:
        yield followed
    finally:
        followed.detach()


# Change lines shown after a run; `malbild changes` lists them all.
SHOWN_CHANGES = 20


def show_summary(result: RefreshResult, warehouse: Path, *, demo: bool = False) -> None:
    """The run's outcome on stdout: counts, each goal's latest status, warnings."""
    from flows.report import NO_CHANGES, SAMPLE_LABEL, change_lines, latest_goal_rows

    console = out_console()
    if result.sample_data:
        console.print(Text(SAMPLE_LABEL, style="bold black on yellow"), soft_wrap=True)
    counts = result.counts
    console.print(
        Text.assemble(
            ("run ", "bold"),
            (result.run_id, "bold"),
            f": plan {result.plan_id}, years {result.years[0]}–{result.years[1]}",
        ),
        soft_wrap=True,
    )
    console.print(
        Text(
            f"  {number(result.requests_made)} anrop, {number(result.observations)} observationer;"
            f" lagret: {number(counts.inserted)} nya, {number(counts.updated)} reviderade,"
            f" {number(counts.unchanged)} oförändrade, {number(counts.deleted)} borttagna"
            + ("" if counts.changed else f" — {NO_CHANGES}")
        ),
        soft_wrap=True,
    )
    lines = change_lines(result.changes)
    if lines:
        console.print(Text(f"Ändringar för {result.plan_id} sedan förra körningen:", style="bold"))
        for line in lines[:SHOWN_CHANGES]:
            console.print(Text(f"  {line}"), soft_wrap=True)
        if len(lines) > SHOWN_CHANGES:
            console.print(
                Text(
                    f"  … och {len(lines) - SHOWN_CHANGES} till: malbild changes --since"
                    f" {result.run_id} visar alla",
                    style="dim",
                ),
                soft_wrap=True,
            )
    goals: list[dict[str, Any]] = [
        {**row, "targets": f"{row['targets_met']} av {row['targets_met'] + row['targets_missed']}"}
        for row in latest_goal_rows(result.summary).to_dicts()
    ]
    title = "Målstatus (senaste år med data)"
    if result.sample_data:
        title += " — EXEMPELDATA"
    if goals:
        render(console, table(goals, GOAL_COLUMNS, console, title=title, hint=None))
    if result.warnings:
        count = len(result.warnings)
        console.print(Text(f"{count} {'varning' if count == 1 else 'varningar'}:", style="yellow"))
        for warning in result.warnings:
            console.print(Text(f"  - {warning}", style="yellow"), soft_wrap=True)
    where = "Demo warehouse (sample data)" if demo else "Warehouse"
    console.print(Text(f"{where}: {warehouse}"), soft_wrap=True)
    if result.snapshot is not None:
        console.print(Text(f"For analysts (read-only): {result.snapshot}"), soft_wrap=True)
