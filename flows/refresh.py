"""The `refresh` Prefect flow: fetch the catalogue, check the plan, fetch every source,
transform, load. Each task is one call into `flows/pipeline.py`; no task knows a source.

Retrying is the HTTP clients' job, so no task has Prefect retries (they would multiply
the clients' time bound), and no task caches (every run must fetch afresh).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows import pipeline, preflight
from flows.pipeline import (
    Changes,
    PlanInput,
    RefreshRequest,
    RefreshResult,
    RunCatalogue,
)
from flows.report import refresh_markdown
from sources.base import FetchContext, Source, SourceAnswers
from sources.landing import RawStore
from sources.staging import Stage
from transforms.goal_plan import GoalPlan
from warehouse.load import LoadCounts, RefreshBatch


@task(name="preflight", cache_policy=NO_CACHE)
def preflight_step(
    request: RefreshRequest, store: RawStore, warnings: list[str]
) -> tuple[PlanInput, RunCatalogue]:
    """Read the plan, probe the sources, fetch the catalogue, check the plan.

    `malbild run` does this before Prefect starts; the flow then reads what it found
    back from the run's landing.
    """
    if request.begun:
        plan, found = preflight.resume(request, store, warnings)
    else:
        plan, found = preflight.prepare(request, store, warnings)
    catalogue = found.catalogue
    get_run_logger().info(
        "Plan %s is valid against Kolada's catalogue%s: %d KPIs, %d areas, %d groups",
        plan.plan.id,
        "" if found.fresh else " (the warehouse's copy)",
        catalogue.kpis.height,
        catalogue.municipalities.height,
        catalogue.groups.height,
    )
    return plan, found


@task(name="fetch", task_run_name="fetch {source.name}", cache_policy=NO_CACHE)
def fetch_step(source: Source, plan: GoalPlan, context: FetchContext) -> SourceAnswers:
    answers = pipeline.fetch_source(source, plan, context)
    get_run_logger().info(
        "%s: %d answers for %d series; %d unavailable",
        source.name,
        len(answers.answers),
        len(source.series_ids(plan)),
        len(answers.unavailable),
    )
    return answers


@task(name="transform", cache_policy=NO_CACHE)
def transform_step(
    plan: PlanInput,
    answers: dict[str, SourceAnswers],
    catalogue: RunCatalogue,
    years: tuple[int, int],
    stage: Stage,
    warehouse: Path,
) -> pl.LazyFrame:
    held = pipeline.warehouse_observations(warehouse)
    observations = pipeline.plan_observations(
        plan.plan, answers, catalogue.catalogue, years, stage, held
    )
    get_run_logger().info("Transformed, staged and checked the observations")
    return observations


@task(name="load", cache_policy=NO_CACHE)
def load_step(
    request: RefreshRequest,
    store: RawStore,
    plan: PlanInput,
    batch: RefreshBatch,
    warnings: list[str],
    checked: tuple[tuple[int, int], Collection[str]],
) -> tuple[LoadCounts, pl.DataFrame, Changes]:
    counts, summary, changes = pipeline.load_and_finish(
        request, store, plan, batch, warnings, checked
    )
    get_run_logger().info(
        "Loaded in one transaction: %d inserted, %d revised, %d unchanged, %d deleted",
        counts.inserted,
        counts.updated,
        counts.unchanged,
        counts.deleted,
    )
    return counts, summary, changes


# Two workers: the sources' fetches run side by side, each under its own throttle.
@flow(name="refresh", task_runner=ThreadPoolTaskRunner(max_workers=2))  # type: ignore[arg-type]
def refresh(
    plan: str,
    warehouse: str | None = None,
    years: str | None = None,
    raw_dir: str | None = None,
    strict: bool = False,
    full: bool = False,
    kolada_url: str | None = None,
    scb_url: str | None = None,
    run_id: str | None = None,
    begun: bool = False,
) -> RefreshResult:
    """Refresh the warehouse for one goal plan: one run, logged whatever its outcome.

    Plain parameters, as a deployment's run form shows them: the plan file; the
    warehouse file and raw folder (default: MALBILD_WAREHOUSE, MALBILD_RAW_DIR, else
    data/malbild.duckdb and raw/ beside it); years "2020-2024" (default: the plan's);
    strict (an unavailable series fails the run); full (fetch everything, not only what
    changed); the sources' base URLs (default: MALBILD_KOLADA_URL, MALBILD_SCB_URL).
    ``run_id`` and ``begun`` are for `malbild run`, which records the start and checks
    the plan before Prefect starts.
    """
    request = refresh_request_of(
        plan, warehouse, years, raw_dir, strict, full, kolada_url, scb_url, run_id, begun
    )
    if not request.begun:
        pipeline.begin_run(request)
    store = RawStore(request.raw_dir)
    warnings: list[str] = []
    try:
        result = _refresh(request, store, warnings)
    except Exception as exc:
        pipeline.end_run_failed(request, store, exc, warnings)
        raise
    logger = get_run_logger()
    for warning in result.warnings:
        logger.warning(warning)
    create_markdown_artifact(
        refresh_markdown(result), key="malbild-refresh", description="malbild refresh summary"
    )
    return result


def refresh_request_of(
    plan: str,
    warehouse: str | None,
    years: str | None,
    raw_dir: str | None,
    strict: bool,
    full: bool,
    kolada_url: str | None,
    scb_url: str | None,
    run_id: str | None,
    begun: bool,
) -> RefreshRequest:
    """The flow's parameters as the request the pipeline runs (settings fill the gaps,
    as for `malbild run`)."""
    from flows.cli_refresh import refresh_request

    request = refresh_request(
        Path(plan),
        Path(warehouse) if warehouse else None,
        years,
        Path(raw_dir) if raw_dir else None,
        strict,
        kolada_url=kolada_url,
        scb_url=scb_url,
        full=full,
    )
    return replace(request, begun=begun, run_id=run_id or request.run_id)


def _refresh(request: RefreshRequest, store: RawStore, warnings: list[str]) -> RefreshResult:
    plan, catalogue = preflight_step(request, store, warnings)

    years = preflight.years_to_fetch(request, plan.plan)
    year_range = (years[0], years[-1])
    stage = pipeline.run_stage(request.warehouse_path, request.run_id)
    state = pipeline.read_fetch_state(request, plan.plan)
    fetched_at = datetime.now(UTC)
    try:
        context = pipeline.fetch_context(request, store, catalogue.catalogue, years, stage, state)
        futures = [
            fetch_step.submit(source, plan.plan, context)
            for source in pipeline.sources_for(plan.plan)
        ]
        answers = {future.result().source: future.result() for future in futures}
        unavailable = pipeline.unavailable_series(plan.plan, answers)
        warnings += pipeline.check_strict(plan.plan, unavailable, request.strict)

        observations = transform_step(
            plan, answers, catalogue, year_range, stage, request.warehouse_path
        )
        observed = pipeline.count_rows(observations)
        responses = pipeline.landed_responses(store, request.run_id)
        fetch_state = pipeline.fetch_state_frame(answers, fetched_at)
        batch = pipeline.build_batch(
            request.run_id, plan, catalogue, unavailable, stage, responses, fetch_state
        )
        counts, summary, changes = load_step(
            request, store, plan, batch, warnings, (year_range, set(unavailable))
        )
    finally:
        stage.remove()
    snapshot = pipeline.publish(request.warehouse_path, warnings)
    requests = pipeline.requests_by_kind(responses)
    return RefreshResult(
        run_id=request.run_id,
        plan_id=plan.plan.id,
        years=year_range,
        requests_made=sum(requests.values()),
        requests_by_kind=requests,
        observations=observed,
        counts=counts,
        warnings=list(warnings),
        summary=summary,
        sample_data=pipeline.is_sample_run(responses),
        changes=changes,
        snapshot=snapshot,
    )
