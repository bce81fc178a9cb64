"""The `malbild` command: run the refresh, try it offline, rebuild, and help write plans.

Exit status: 0 success, 2 bad input (plan, years, arguments), 1 any other failure.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from flows import settings

if TYPE_CHECKING:
    from flows.pipeline import RefreshRequest, RefreshResult

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

OFFLINE_HINT = (
    "No network? `malbild demo` runs everything offline on sample data, and `check`, `kpis` "
    "and `areas` work from a warehouse that holds a catalogue (--warehouse FILE)"
)

log = logging.getLogger("malbild")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "uses_prefect", False):
        configure_prefect()
    else:
        logging.basicConfig(
            level=logging.WARNING, format="%(levelname)s: %(message)s", stream=sys.stderr
        )
    log.setLevel(logging.DEBUG if args.debug else logging.INFO)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("malbild: interrupted", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:
        return report_failure(exc, debug=args.debug)


def report_failure(exc: BaseException, *, debug: bool) -> int:
    """One clear line for the user; the traceback only with --debug."""
    from flows.pipeline import InputError
    from sources.http import FetchError, UnreachableError
    from warehouse.connection import WarehouseError

    if debug:
        logging.exception("malbild failed")
    if isinstance(exc, InputError):
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="malbild",
        description="Goal follow-up for Swedish municipalities from Kolada and SCB open data.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="fetch, load and evaluate a goal plan")
    add_run_arguments(run)
    run.set_defaults(handler=cmd_run, uses_prefect=True)

    demo = commands.add_parser(
        "demo",
        help="run the whole pipeline offline against fake Kolada and SCB servers (sample data)",
    )
    demo.add_argument("--warehouse", type=Path, default=Path("data/demo/malbild-demo.duckdb"))
    demo.add_argument("--plan", type=Path, default=None, help="goal plan (default: Vallentuna)")
    demo.add_argument("--years", default=None, help="years to fetch, e.g. 2018-2024")
    demo.add_argument("--strict", action="store_true", help=argparse.SUPPRESS)
    demo.set_defaults(handler=cmd_demo, uses_prefect=True)

    rebuild = commands.add_parser(
        "rebuild", help="rebuild a warehouse from the raw landing, without the network"
    )
    rebuild.add_argument("--warehouse", type=Path, default=None)
    rebuild.add_argument("--raw-dir", type=Path, default=None)
    rebuild.set_defaults(handler=cmd_rebuild)

    check = commands.add_parser("check", help="validate a goal plan without running it")
    check.add_argument("plan", type=Path)
    check.add_argument("--warehouse", type=Path, default=None)
    check.set_defaults(handler=cmd_check)

    kpis = commands.add_parser("kpis", help="search Kolada's KPI catalogue")
    kpis.add_argument("text")
    kpis.add_argument("--warehouse", type=Path, default=None)
    kpis.add_argument("--limit", type=int, default=40)
    kpis.set_defaults(handler=cmd_kpis)

    areas = commands.add_parser("areas", help="find municipalities, regions and groups")
    areas.add_argument("text")
    areas.add_argument("--warehouse", type=Path, default=None)
    areas.add_argument("--limit", type=int, default=40)
    areas.set_defaults(handler=cmd_areas)

    tables = commands.add_parser("tables", help="search SCB's tables; show a table's variables")
    tables.add_argument("text", help="words to search for, or a table id such as TAB638")
    tables.set_defaults(handler=cmd_tables)

    runs = commands.add_parser("runs", help="show the warehouse's run log")
    runs.add_argument("--warehouse", type=Path, default=None)
    runs.add_argument("--limit", type=int, default=20)
    runs.set_defaults(handler=cmd_runs)
    return parser


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--plan", type=Path, default=None, help="goal plan YAML (default: Vallentuna)"
    )
    parser.add_argument(
        "--warehouse", type=Path, default=None, help="DuckDB file (default: $MALBILD_WAREHOUSE)"
    )
    parser.add_argument("--years", default=None, help="years to fetch, e.g. 2018-2024")
    parser.add_argument("--raw-dir", type=Path, default=None, help="raw landing folder")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail when a plan series is unavailable at the source (default: warn, run the rest)",
    )


def configure_prefect() -> None:
    """Quiet, local defaults for Prefect unless the user has set them."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "malbild")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    # The temporary local API takes 10-30 s to start on a small machine; Prefect's
    # default patience (20 s) is not always enough.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def refresh_request(
    args: argparse.Namespace, *, kolada_url: str | None = None, scb_url: str | None = None
) -> RefreshRequest:
    from flows.pipeline import RefreshRequest, parse_years

    warehouse = args.warehouse or settings.default_warehouse_path()
    return RefreshRequest(
        plan_path=args.plan or settings.default_plan_path(),
        warehouse_path=warehouse,
        raw_dir=getattr(args, "raw_dir", None) or settings.default_raw_dir(warehouse),
        years=parse_years(args.years),
        kolada_url=kolada_url,
        scb_url=scb_url,
        strict=args.strict,
    )


def start_refresh(request: RefreshRequest) -> RefreshResult:
    """Start the run before Prefect does, then run the flow.

    Recording the start, reading and checking the plan and probing the sources take
    seconds; Prefect's start-up takes 10-35 s. A locked warehouse, a bad plan or no
    network is told before it.
    """
    from dataclasses import replace

    from flows import pipeline
    from sources.landing import RawStore

    pipeline.begin_run(request)
    store = RawStore(request.raw_dir)
    warnings: list[str] = []
    try:
        pipeline.preflight(request, store, warnings)
    except Exception as exc:
        pipeline.end_run_failed(request, store, exc, warnings)
        raise
    from flows.refresh import refresh

    return refresh(replace(request, begun=True))


def cmd_run(args: argparse.Namespace) -> int:
    from flows.report import refresh_terminal_summary

    request = refresh_request(args)
    result = start_refresh(request)
    print(refresh_terminal_summary(result))
    print(f"Warehouse: {request.warehouse_path}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from fakes.kolada_server import FakeKolada
    from fakes.sample_data import sample_kolada
    from fakes.scb_server import FakeScbServer
    from flows.report import refresh_terminal_summary

    print(
        "malbild demo: fake Kolada and SCB servers on 127.0.0.1 serve the real catalogue and\n"
        "table metadata with GENERATED values. Nothing it produces is real statistics."
    )
    with FakeKolada(**sample_kolada()) as kolada, FakeScbServer() as scb:
        request = refresh_request(args, kolada_url=kolada.base_url, scb_url=scb.base_url)
        result = start_refresh(request)
    print(refresh_terminal_summary(result))
    print(f"Demo warehouse (sample data): {request.warehouse_path}")
    return EXIT_OK


def cmd_rebuild(args: argparse.Namespace) -> int:
    from flows.rebuild import rebuild_from_raw

    warehouse = args.warehouse or settings.default_warehouse_path()
    raw_dir = args.raw_dir or settings.default_raw_dir(warehouse)
    replayed = rebuild_from_raw(warehouse, raw_dir)
    print(f"Rebuilt {warehouse} from {len(replayed)} landed runs in {raw_dir}")
    return EXIT_OK


def load_catalogue(warehouse: Path | None):
    """The warehouse's catalogue when it has one, else a fresh one from Kolada."""
    from flows import pipeline
    from sources.http import FetchError
    from sources.kolada.series import fetch_catalogue

    path = warehouse or settings.default_warehouse_path()
    try:
        return pipeline.warehouse_catalogue(path)
    except FetchError:
        log.info("No catalogue in %s yet: fetching it from Kolada", path)
    return fetch_catalogue(None)


def cmd_check(args: argparse.Namespace) -> int:
    from flows import pipeline

    plan = pipeline.read_plan(args.plan)
    pipeline.check_plan(plan, load_catalogue(args.warehouse))
    goals = plan.plan.goals
    indicators = sum(len(goal.indicators) for goal in goals)
    print(f"{args.plan}: OK — plan {plan.plan.id}, {len(goals)} goals, {indicators} indicators")
    return EXIT_OK


def print_frame(frame: pl.DataFrame) -> None:
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        fmt_str_lengths=80,
        tbl_hide_dataframe_shape=True,
        tbl_width_chars=200,
    ):
        print(frame)


def cmd_kpis(args: argparse.Namespace) -> int:
    from transforms.catalogue import search_kpis

    print_frame(search_kpis(load_catalogue(args.warehouse), args.text, limit=args.limit))
    return EXIT_OK


def cmd_areas(args: argparse.Namespace) -> int:
    from transforms.catalogue import search_areas

    print_frame(search_areas(load_catalogue(args.warehouse), args.text, limit=args.limit))
    return EXIT_OK


def cmd_tables(args: argparse.Namespace) -> int:
    from sources.scb.client import ScbClient
    from transforms.scb import scb_table_variables, scb_tables_frame

    client = ScbClient()
    if args.text.upper().startswith("TAB"):
        print_frame(scb_table_variables(client.table_metadata(args.text.upper())))
    else:
        print_frame(scb_tables_frame(client.search_tables(args.text)))
    return EXIT_OK


def cmd_runs(args: argparse.Namespace) -> int:
    from warehouse import queries
    from warehouse.connection import open_warehouse

    with open_warehouse(args.warehouse or settings.default_warehouse_path(), read_only=True) as con:
        print_frame(queries.read_runs(con, limit=args.limit))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
