"""The `malbild` command: run the refresh, try it offline, rebuild, and help write plans.

Exit status: 0 success, 2 bad input (plan, years, arguments), 1 any other failure.
Importing this module stays cheap (typer only): each command imports what it needs,
and only `run` and `demo` import Prefect.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from flows import settings
from flows.cli_refresh import SOURCE_NAMES, configure_prefect, refresh_request, start_refresh

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

OFFLINE_HINT = (
    "No network? `malbild demo` runs everything offline on sample data, `check`, `kpis` "
    "and `areas` work from a warehouse that holds a catalogue (--warehouse FILE), and "
    "`tables` answers from its cache of earlier answers"
)
DEMO_WAREHOUSE = Path("data/demo/malbild-demo.duckdb")

log = logging.getLogger("malbild")


@dataclass
class Session:
    """What the global options say for this invocation."""

    debug: bool = False
    program: bool = False  # run as the `malbild` program (not main([...]) from Python)


session = Session()

app = typer.Typer(
    name="malbild",
    help="Goal follow-up for Swedish municipalities from Kolada and SCB open data.",
    epilog="Exit status: 0 success, 2 bad input, 1 any other failure.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

PlanOpt = Annotated[
    Path | None,
    typer.Option(
        "--plan", metavar="FILE", show_default=False, help="goal plan YAML (default: Vallentuna's)"
    ),
]
WarehouseOpt = Annotated[
    Path | None,
    typer.Option(
        "--warehouse",
        "-w",
        metavar="FILE",
        show_default=False,
        help="DuckDB warehouse file (default: $MALBILD_WAREHOUSE, else data/malbild.duckdb)",
    ),
]
YearsOpt = Annotated[
    str | None,
    typer.Option(
        "--years", metavar="A-B", help="years to fetch, e.g. 2018-2024 (default: the plan's)"
    ),
]
RawDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--raw-dir",
        metavar="DIR",
        show_default=False,
        help="raw landing folder (default: $MALBILD_RAW_DIR, else raw/ beside the warehouse)",
    ),
]
StrictOpt = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="fail when a plan series is unavailable at the source (default: warn, run the rest)",
    ),
]
FullOpt = Annotated[
    bool,
    typer.Option(
        "--full",
        help="fetch everything again (default: only what changed since the last successful run)",
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="print JSON (a list of objects) on stdout, not a table")
]


def limit_option() -> Any:
    return typer.Option("--limit", "-n", min=1, metavar="N", help="show at most N rows")


# -- entry point --------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run `malbild` with ``argv``; the exit status, never SystemExit."""
    args = list(sys.argv[1:] if argv is None else argv)
    # --debug is global, but people type it last too: accept it anywhere before "--".
    end = args.index("--") if "--" in args else len(args)
    session.debug = "--debug" in args[:end]
    session.program = argv is None
    if session.debug:
        args = ["--debug", *(arg for arg in args[:end] if arg != "--debug"), *args[end:]]
    command = typer.main.get_command(app)
    try:
        settings.apply_settings_file()
    except settings.SettingsError as exc:
        print(f"malbild: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        result = command.main(args=args, prog_name="malbild", standalone_mode=False)
    except typer.TyperException as exc:  # usage errors: bad option, missing argument
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print(f"malbild: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", EXIT_BAD_INPUT))
    except (KeyboardInterrupt, typer.Abort):
        return interrupted()
    except SystemExit as exc:  # typer exits on a closed pipe (`malbild runs | head`)
        return exc.code if isinstance(exc.code, int) else EXIT_FAILED
    except Exception as exc:
        return report_failure(exc, debug=session.debug)
    if result == 130:  # typer's answer to Ctrl-C
        return interrupted()
    return result if isinstance(result, int) else EXIT_OK


def interrupted() -> int:
    print("malbild: interrupted", file=sys.stderr)
    return EXIT_FAILED


def report_failure(exc: BaseException, *, debug: bool) -> int:
    """One clear line for the user; the traceback only with --debug."""
    from flows.cli_lookup import LookupInputError
    from flows.pipeline import InputError
    from sources.http import FetchError, UnreachableError
    from warehouse.connection import WarehouseError

    if debug:
        # Printed, not logged: during a run the log's handlers belong to the progress display.
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, InputError | LookupInputError | settings.SettingsError):
        print(f"malbild: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if isinstance(exc, UnreachableError):
        print(f"malbild: {exc}. {OFFLINE_HINT}", file=sys.stderr)
        return EXIT_FAILED
    if isinstance(exc, WarehouseError | FetchError):
        print(f"malbild: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"malbild: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    if not debug:
        print("  (run with --debug for the full traceback)", file=sys.stderr)
    return EXIT_FAILED


@app.callback()
def root(
    ctx: typer.Context,
    debug: Annotated[
        bool, typer.Option("--debug", help="show tracebacks, debug logs and Prefect's log lines")
    ] = False,
) -> None:
    """Set up logging (and Prefect's settings for `run` and `demo`) for the command."""
    session.debug = debug
    if ctx.invoked_subcommand in ("run", "demo"):
        configure_prefect()
        if session.program:  # a process of its own: Ctrl-C and SIGTERM end it promptly
            from flows import interrupt

            interrupt.install()
    elif not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        handler.setLevel(logging.DEBUG if debug else logging.WARNING)
        logging.getLogger().addHandler(handler)
    log.setLevel(logging.DEBUG if debug else settings.log_level())


@app.command(rich_help_panel="Refresh")
def run(
    plan: PlanOpt = None,
    warehouse: WarehouseOpt = None,
    years: YearsOpt = None,
    raw_dir: RawDirOpt = None,
    strict: StrictOpt = False,
    full: FullOpt = False,
) -> int:
    """Fetch, load and evaluate a goal plan: the main job.

    Checks the plan and reaches every source first (a bad plan exits 2 and writes
    nothing), then runs the Prefect flow and ends with each goal's status. After a
    successful run, the next asks Kolada only for what changed since and skips SCB
    tables that have not been updated (--full fetches everything).
    """
    from flows.cli_progress import RunProgress, show_summary

    request = refresh_request(plan, warehouse, years, raw_dir, strict, full=full)
    progress = RunProgress(debug=session.debug)
    result = start_refresh(request, progress, keep_quiet=session.program)
    show_summary(result, request.warehouse_path)
    return EXIT_OK


@app.command(rich_help_panel="Refresh")
def demo(
    warehouse: Annotated[
        Path,
        typer.Option("--warehouse", "-w", metavar="FILE", help="DuckDB file for the demo"),
    ] = DEMO_WAREHOUSE,
    plan: PlanOpt = None,
    years: YearsOpt = None,
    strict: Annotated[bool, typer.Option("--strict", hidden=True)] = False,
) -> int:
    """Run the whole pipeline offline against fake Kolada and SCB servers (sample data).

    The catalogue, areas and SCB table metadata are real; every value is GENERATED.
    """
    from rich.text import Text

    from fakes.kolada_server import FakeKolada
    from fakes.sample_data import sample_kolada
    from fakes.scb_server import FakeScbServer
    from flows.cli_progress import RunProgress, show_summary
    from flows.cli_render import out_console

    out_console().print(
        Text(
            "malbild demo: fake Kolada and SCB servers on 127.0.0.1 serve the real catalogue and\n"
            "table metadata with GENERATED values. Nothing it produces is real statistics.",
            style="yellow",
        ),
        soft_wrap=True,
    )
    with FakeKolada(**sample_kolada()) as kolada, FakeScbServer() as scb:
        request = refresh_request(
            plan, warehouse, years, strict=strict, kolada_url=kolada.base_url, scb_url=scb.base_url
        )
        progress = RunProgress(debug=session.debug)
        result = start_refresh(request, progress, keep_quiet=session.program)
    show_summary(result, request.warehouse_path, demo=True)
    return EXIT_OK


@app.command(rich_help_panel="Refresh")
def rebuild(warehouse: WarehouseOpt = None, raw_dir: RawDirOpt = None) -> int:
    """Rebuild a warehouse from the raw landing, without the network."""
    from flows.cli_render import err_console
    from flows.rebuild import rebuild_from_raw

    warehouse = warehouse or settings.default_warehouse_path()
    raw_dir = raw_dir or settings.default_raw_dir(warehouse)
    with err_console().status(f"Bygger om {warehouse} från {raw_dir}"):
        replayed = rebuild_from_raw(warehouse, raw_dir)
    print(f"Rebuilt {warehouse} from {len(replayed)} landed runs in {raw_dir}")
    return EXIT_OK


# -- writing a plan ------------------------------------------------------------------------


@app.command(rich_help_panel="Writing a plan")
def check(
    plan: Annotated[Path, typer.Argument(metavar="PLAN", help="the goal plan YAML to check")],
    warehouse: WarehouseOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """Validate a goal plan without running it: the file, Kolada ids, SCB tables, own files.

    Exits 2 when anything is wrong; a source that cannot be reached is reported as not
    checked.
    """
    from flows import pipeline, preflight
    from flows.cli_lookup import load_catalogue
    from flows.cli_render import check_rows, emit_json, note

    found = preflight.read_plan(plan)
    catalogue = load_catalogue(warehouse)
    preflight.check_plan(found, catalogue)
    request = refresh_request(plan, warehouse, None)
    provided = {
        source.name: source.series_ids(found.plan) for source in pipeline.sources_for(found.plan)
    }
    checked = preflight.check_sources(found, catalogue, request)
    if as_json:
        emit_json(check_rows(provided, checked.problems, checked.not_checked))
    for series_id, reason in checked.problems.items():
        print(f"malbild: {plan}: series {series_id}: {reason}", file=sys.stderr)
    if checked.problems:
        return EXIT_BAD_INPUT
    goals = found.plan.goals
    indicators = sum(len(goal.indicators) for goal in goals)
    if not as_json:
        print(f"{plan}: OK — plan {found.plan.id}, {len(goals)} goals, {indicators} indicators")
    for name, why in checked.not_checked.items():
        source = SOURCE_NAMES.get(name, name)
        note(
            f"{source} kunde inte nås: {source}-serierna är INTE kontrollerade ({why})",
            style="yellow",
        )
    return EXIT_OK


@app.command(rich_help_panel="Writing a plan")
def kpis(
    text: Annotated[
        str, typer.Argument(metavar="TEXT", help="words of the KPI's title, or its id (N15507)")
    ],
    warehouse: WarehouseOpt = None,
    limit: Annotated[int, limit_option()] = 40,
    as_json: JsonOpt = False,
) -> int:
    """Search Kolada's KPI catalogue: id, title, kommun/region, gender split, publication.

    Uses the warehouse's copy of the catalogue when it has one, else fetches it.
    """
    from flows.cli_lookup import load_catalogue
    from flows.cli_render import KPI_COLUMNS, show_rows
    from transforms.catalogue import search_kpis

    catalogue = load_catalogue(warehouse)
    found = search_kpis(catalogue, text, limit=max(catalogue.kpis.height, 1))
    title = f"Kolada-KPI:er för {text!r}"
    rows = found.head(limit).to_dicts()
    show_rows(rows, KPI_COLUMNS, total=found.height, as_json=as_json, title=title)
    return EXIT_OK


@app.command(rich_help_panel="Writing a plan")
def areas(
    text: Annotated[
        str, typer.Argument(metavar="TEXT", help="a kommun's, region's or group's name or id")
    ],
    warehouse: WarehouseOpt = None,
    limit: Annotated[int, limit_option()] = 40,
    as_json: JsonOpt = False,
) -> int:
    """Find municipalities, regions and groups (a kommun's "Liknande kommuner" groups too)."""
    from flows.cli_lookup import load_catalogue
    from flows.cli_render import AREA_COLUMNS, show_rows
    from transforms.catalogue import search_areas

    catalogue = load_catalogue(warehouse)
    everything = catalogue.municipalities.height + catalogue.groups.height
    found = search_areas(catalogue, text, limit=max(everything, 1))
    rows = found.head(limit).to_dicts()
    title = f"Områden och grupper för {text!r}"
    show_rows(rows, AREA_COLUMNS, total=found.height, as_json=as_json, title=title)
    return EXIT_OK


@app.command(rich_help_panel="Writing a plan")
def tables(
    text: Annotated[
        str,
        typer.Argument(
            metavar="TEXT", help="words to search SCB's tables for, or a table id (TAB638)"
        ),
    ],
    warehouse: WarehouseOpt = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir",
            metavar="DIR",
            show_default=False,
            help="where SCB's answers are kept for offline use (default: scb-cache/ beside "
            "the warehouse)",
        ),
    ] = None,
    limit: Annotated[int, limit_option()] = 40,
    as_json: JsonOpt = False,
) -> int:
    """Search SCB's tables, or list one table's variables and content codes.

    Every answer is kept, so without network the command answers from what it fetched
    before (and from metadata that refreshes landed).
    """
    from flows.cli_lookup import is_table_id, scb_search, scb_table, table_cache
    from flows.cli_render import SCB_TABLE_COLUMNS, SCB_VARIABLE_COLUMNS, Col, show_rows
    from transforms.scb import scb_table_variables, scb_tables_frame

    cache = table_cache(cache_dir, warehouse)
    if is_table_id(text):
        answer = scb_table(text, cache, warehouse)
        found = scb_table_variables(answer.body)
        title = f"{text.strip().upper()}: {answer.body.get('label', '')}"
        columns: Sequence[Col] = SCB_VARIABLE_COLUMNS
    else:
        answer = scb_search(text, cache)
        found = scb_tables_frame(answer.body)
        title = f"SCB-tabeller för {text!r}"
        columns = SCB_TABLE_COLUMNS
    rows = found.head(limit).to_dicts()
    show_rows(rows, columns, total=found.height, as_json=as_json, title=title)
    return EXIT_OK


# -- the run log ---------------------------------------------------------------------------


@app.command(rich_help_panel="Run log")
def runs(
    run_id: Annotated[
        str | None,
        typer.Argument(
            metavar="RUN_ID", show_default=False, help="one run's id, or a unique start of it"
        ),
    ] = None,
    warehouse: WarehouseOpt = None,
    limit: Annotated[int, limit_option()] = 20,
    as_json: JsonOpt = False,
) -> int:
    """Show the warehouse's run log, newest first; with RUN_ID, one run in full.

    One run: every field, its warnings, its parameters and its requests by kind
    (raw.response).
    """
    from flows.cli_lookup import find_run, read_run_log
    from flows.cli_render import (
        RUN_COLUMNS,
        cut_notice,
        emit_json,
        note,
        requests_by_kind,
        run_json,
        run_rows,
        show_rows,
        show_run,
    )

    if run_id is not None:
        run, responses = find_run(warehouse, run_id.strip())
        by_kind = requests_by_kind(responses)
        if as_json:
            emit_json([{**run_json(run), "requests_by_kind": by_kind}])
        else:
            show_run(run, by_kind)
        return EXIT_OK
    log_rows, path = read_run_log(warehouse)
    shown = run_rows(log_rows[:limit])
    if as_json:
        emit_json([run_json(run) for run in shown])
        if notice := cut_notice(len(shown), len(log_rows)):
            note(notice)
        return EXIT_OK
    title = f"Körningar i {path}"
    show_rows(shown, RUN_COLUMNS, total=len(log_rows), title=title, empty="Inga körningar än.")
    return EXIT_OK


# Commands kept in modules of their own register themselves on `app` (after it exists).
from flows import cli_changes, cli_serve  # noqa: E402

__all__ = ["app", "cli_changes", "cli_serve", "main"]

if __name__ == "__main__":
    sys.exit(main())
