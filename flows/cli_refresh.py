"""`malbild run` and `demo` before and around the Prefect flow: Prefect's settings, the
request, and the start that checks everything before Prefect is imported."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows import settings

if TYPE_CHECKING:
    from flows.cli_progress import RunProgress
    from flows.pipeline import RefreshRequest, RefreshResult

SOURCE_NAMES = {"kolada": "Kolada", "scb": "SCB", "own": "egna filer"}


def configure_prefect() -> None:
    """Quiet, local defaults for Prefect unless the user has set them."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "malbild")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    # The temporary local API takes 10-30 s to start on a small machine; Prefect's
    # default patience (20 s) is not always enough.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    # PREFECT_LOGGING_LEVEL is left alone: at WARNING it would starve the Prefect API's
    # run log and the progress display, which both read the tasks' INFO records. The
    # console is quieted per handler instead (cli_progress.FollowedFlow).


def refresh_request(
    plan: Path | None,
    warehouse: Path | None,
    years: str | None,
    raw_dir: Path | None = None,
    strict: bool = False,
    *,
    kolada_url: str | None = None,
    scb_url: str | None = None,
    full: bool = False,
) -> RefreshRequest:
    """The request the options describe, with the settings' defaults."""
    from flows.pipeline import RefreshRequest, parse_years

    warehouse = warehouse or settings.default_warehouse_path()
    return RefreshRequest(
        plan_path=plan or settings.default_plan_path(),
        warehouse_path=warehouse,
        raw_dir=raw_dir or settings.default_raw_dir(warehouse),
        years=parse_years(years),
        kolada_url=kolada_url,
        scb_url=scb_url,
        strict=strict,
        full=full,
    )


def flow_parameters(request: RefreshRequest) -> dict[str, Any]:
    """The refresh flow's plain parameters for a request (as a deployment takes them)."""
    return {
        "plan": str(request.plan_path),
        "warehouse": str(request.warehouse_path),
        "years": f"{request.years[0]}-{request.years[1]}" if request.years else None,
        "raw_dir": str(request.raw_dir),
        "strict": request.strict,
        "full": request.full,
        "kolada_url": request.kolada_url,
        "scb_url": request.scb_url,
    }


def start_refresh(
    request: RefreshRequest, progress: RunProgress | None = None, *, keep_quiet: bool = False
) -> RefreshResult:
    """Start the run before Prefect does, then run the flow.

    Recording the start, reading and checking the plan and probing the sources take
    seconds; Prefect's start-up takes 10-35 s. A locked warehouse, a bad plan or no
    network is told before it, and without importing Prefect. ``keep_quiet``: Prefect's
    console lines stay off after the run (the program is ending).
    """

    from flows import pipeline, preflight
    from flows.cli_progress import RunProgress, following_flow
    from flows.interrupt import recorded_as_interrupted
    from sources.landing import RawStore

    progress = progress or RunProgress()
    stopping = recorded_as_interrupted(request.warehouse_path, request.run_id)
    with following_flow(progress, [], keep_quiet=keep_quiet) as followed, stopping:
        progress.start("Förkontroll: planen, källornas adresser och Kolada-katalogen")
        store = RawStore(request.raw_dir)
        warnings: list[str] = []
        try:
            pipeline.begin_run(request)
        except Exception:
            progress.failed("Körningen kunde inte starta")
            raise
        try:
            plan, catalogue = preflight.prepare(request, store, warnings)
        except Exception as exc:
            progress.failed("Förkontrollen stoppade körningen; inga data är skrivna")
            pipeline.end_run_failed(request, store, exc, warnings)
            raise
        sources = [source.name for source in pipeline.sources_for(plan.plan)]
        followed.steps.sources = sources
        copy = "" if catalogue.fresh else " (lagrets kopia)"
        names = ", ".join(SOURCE_NAMES.get(name, name) for name in sources)
        progress.done(f"Förkontroll: plan {plan.plan.id} stämmer mot katalogen{copy}; {names}")
        if api := os.environ.get("PREFECT_API_URL"):
            progress.start(f"Ansluter till Prefect ({api})")
        else:
            progress.start(
                "Startar Prefect: en tillfällig lokal API, 15–35 s (med en Prefect-server,"
                " `prefect server start` och PREFECT_API_URL, slipper körningen det)"
            )
        from flows.refresh import refresh

        followed.attach()
        return refresh(**flow_parameters(request), run_id=request.run_id, begun=True)
