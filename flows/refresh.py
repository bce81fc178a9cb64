"""The `refresh` Prefect flow: fetch metadata, validate the plan, fetch data, transform,
load, evaluate. Each task is one call into `flows/pipeline.py` or `flows/scb_steps.py`.

Retrying is the HTTP clients' job, so no task has Prefect retries (they would multiply
the clients' time bound), and no task caches (every run must fetch afresh).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows import pipeline, scb_steps
from flows.pipeline import Fetched, InputError, PlanInput, RefreshRequest, RefreshResult
from flows.report import refresh_markdown
from flows.scb_steps import ScbFetched
from sources.http import FetchError
from sources.kolada.client import KoladaClient
from sources.landing import RawStore
from sources.scb.client import ScbClient
from transforms.catalogue import Catalogue
from transforms.goal_plan import plan_kpi_ids
from warehouse.load import LoadCounts, RefreshBatch


@task(name="fetch metadata", cache_policy=NO_CACHE)
def fetch_metadata(kolada: KoladaClient) -> Fetched:
    logger = get_run_logger()
    try:
        records = pipeline.fetch_catalogue(kolada)
    except FetchError as exc:
        logger.warning("Kolada's catalogue could not be fetched (%s): using the warehouse's", exc)
        return Fetched(catalogue=None)
    catalogue = pipeline.catalogue_frames(records)
    logger.info(
        "Kolada catalogue: %d KPIs, %d areas, %d groups",
        catalogue.kpis.height,
        catalogue.municipalities.height,
        catalogue.groups.height,
    )
    return Fetched(catalogue=catalogue)


@task(name="validate plan", cache_policy=NO_CACHE)
def validate_plan(plan: PlanInput, fetched: Fetched, warehouse_path: Path) -> Catalogue:
    catalogue = pipeline.run_catalogue(fetched, warehouse_path)
    pipeline.validate_plan(plan, catalogue)
    get_run_logger().info("Plan %s is valid against Kolada's catalogue", plan.plan.id)
    return catalogue


@task(name="check SCB series", cache_policy=NO_CACHE)
def check_scb(scb: ScbClient, plan: PlanInput) -> ScbFetched:
    checked = scb_steps.check_scb_series(scb, plan.plan)
    get_run_logger().info(
        "SCB: %d tables' metadata read; %d series unavailable",
        len(checked.metadata),
        len(checked.unavailable),
    )
    return checked


@task(name="fetch Kolada data", cache_policy=NO_CACHE)
def fetch_kolada(
    kolada: KoladaClient, kpi_ids: list[str], years: list[int]
) -> list[tuple[str, bytes]]:
    pages = pipeline.fetch_kolada_data(kolada, kpi_ids, years)
    get_run_logger().info(
        "Kolada: %d data pages for %d KPIs and %d years", len(pages), len(kpi_ids), len(years)
    )
    return pages


@task(name="fetch SCB data", cache_policy=NO_CACHE)
def fetch_scb(scb: ScbClient, plan: PlanInput, years: list[int], checked: ScbFetched) -> ScbFetched:
    fetched = scb_steps.fetch_scb_series(scb, plan.plan, years, checked)
    calls = sum(len(responses) for answers in fetched.answers.values() for _, responses in answers)
    get_run_logger().info("SCB: %d data calls for %d series", calls, len(fetched.answers))
    return fetched


@task(name="transform", cache_policy=NO_CACHE)
def transform(
    plan: PlanInput, fetched: Fetched, catalogue: Catalogue, years: tuple[int, int]
) -> pl.DataFrame:
    observations = pipeline.plan_observations(plan.plan, fetched, catalogue, years)
    get_run_logger().info("Transformed and checked %d observations", observations.height)
    return observations


@task(name="load", cache_policy=NO_CACHE)
def load(warehouse_path: Path, batch: RefreshBatch) -> tuple[LoadCounts, list[str]]:
    counts, warnings = pipeline.load(warehouse_path, batch)
    get_run_logger().info(
        "Loaded in one transaction: %d inserted, %d updated, %d unchanged",
        counts.inserted,
        counts.updated,
        counts.unchanged,
    )
    return counts, warnings


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate(warehouse_path: Path, plan_id: str, municipality_id: str) -> pl.DataFrame:
    return pipeline.goal_summary(warehouse_path, plan_id, municipality_id)


# Two workers: the Kolada and SCB fetches run side by side, each under its own throttle.
@flow(name="refresh", task_runner=ThreadPoolTaskRunner(max_workers=2))  # type: ignore[arg-type]
def refresh(request: RefreshRequest) -> RefreshResult:
    """Refresh the warehouse for one goal plan: one run, logged whatever its outcome."""
    pipeline.start_run(
        request.warehouse_path,
        request.run_id,
        "refresh",
        request.plan_path.stem,
        request.parameters(),
    )
    store = RawStore(request.raw_dir)
    warnings: list[str] = []
    try:
        result = _refresh(request, store, warnings)
    except Exception as exc:
        status = "refused" if isinstance(exc, InputError) else "failed"
        pipeline.finish_run(
            request.warehouse_path,
            request.run_id,
            status,
            requests_made=len(pipeline.landed_responses(store, request.run_id)),
            warnings=warnings,
            error=f"{type(exc).__name__}: {exc}",
        )
        raise
    store.mark_completed(request.run_id)
    pipeline.finish_run(
        request.warehouse_path,
        request.run_id,
        "succeeded",
        requests_made=result.requests_made,
        counts=result.counts,
        warnings=result.warnings,
    )
    logger = get_run_logger()
    for warning in result.warnings:
        logger.warning(warning)
    create_markdown_artifact(
        refresh_markdown(result), key="malbild-refresh", description="malbild refresh summary"
    )
    return result


def _refresh(request: RefreshRequest, store: RawStore, warnings: list[str]) -> RefreshResult:
    plan = pipeline.read_plan(request.plan_path)
    pipeline.land_plan(store, request.run_id, plan)

    # One client per source and run: SCB's /config is read once, and every answer landed.
    kolada = pipeline.kolada_client(request, store)
    scb = scb_steps.scb_client(request.scb_url, store, request.run_id)
    fetched = fetch_metadata(kolada)
    if fetched.catalogue is None:
        warnings.append(
            "Kolada's catalogue was unreachable: the plan was checked against the warehouse's copy"
        )
    catalogue = validate_plan(plan, fetched, request.warehouse_path)
    checked = check_scb(scb, plan) if plan.plan.series else ScbFetched()

    years = plan.plan.fetch_years(request.years)
    year_range = (years[0], years[-1])
    kolada_data = fetch_kolada.submit(kolada, plan_kpi_ids(plan.plan), list(years))
    scb_data = fetch_scb.submit(scb, plan, list(years), checked) if plan.plan.series else None
    fetched.kolada_pages = kolada_data.result()
    fetched.scb = scb_data.result() if scb_data is not None else checked
    warnings += pipeline.check_strict(plan.plan, fetched.scb.unavailable, request.strict)

    observations = transform(plan, fetched, catalogue, year_range)
    warnings += pipeline.missing_data_warnings(plan.plan, observations, fetched.scb.unavailable)
    responses = pipeline.landed_responses(store, request.run_id)
    batch = pipeline.build_batch(request.run_id, plan, fetched, catalogue, observations, responses)
    counts, load_warnings = load(request.warehouse_path, batch)
    warnings += load_warnings
    summary = evaluate(request.warehouse_path, plan.plan.id, plan.plan.municipality)
    return RefreshResult(
        run_id=request.run_id,
        plan_id=plan.plan.id,
        years=year_range,
        requests_made=len(responses),
        requests_by_kind=pipeline.requests_by_kind(responses),
        observations=observations.height,
        counts=counts,
        warnings=list(warnings),
        summary=summary,
    )
