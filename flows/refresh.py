"""The `refresh` Prefect flow: fetch metadata, validate the plan, fetch data, transform,
load, evaluate. Each task is one call into `flows/pipeline.py`; retrying is the HTTP
client's job, so no task has Prefect retries (they would multiply its time bound)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from flows import pipeline
from flows.pipeline import InputError, RefreshRequest, RefreshResult
from flows.report import refresh_markdown
from sources.http import FetchError
from sources.landing import RawStore


@task(name="fetch metadata")
def fetch_metadata(request: RefreshRequest, store: RawStore) -> pipeline.Fetched:
    logger = get_run_logger()
    client = pipeline.kolada_client(request, store)
    try:
        records = pipeline.fetch_catalogue(client)
    except FetchError as exc:
        logger.warning(
            "Kolada's catalogue could not be fetched (%s); using the warehouse's copy", exc
        )
        return pipeline.Fetched(request.run_id, {}, [], [], catalogue_from_warehouse=True)
    logger.info(
        "Catalogue: %d KPIs, %d areas, %d groups",
        len(records["kpi"]),
        len(records["municipality"]),
        len(records["municipality_groups"]),
    )
    return pipeline.Fetched(request.run_id, records, [], [])


@task(name="validate plan")
def validate_plan(plan: pipeline.PlanInput, fetched: pipeline.Fetched, warehouse_path: Path):
    if fetched.catalogue_from_warehouse:
        catalogue = pipeline.catalogue_from_warehouse(warehouse_path)
        if catalogue is None:
            raise FetchError(
                "Kolada's catalogue could not be fetched and the warehouse has no copy yet",
                url=str(warehouse_path),
            )
    else:
        catalogue = pipeline.catalogue_frames(fetched.catalogue_records)
    pipeline.validate_plan(plan, catalogue)
    get_run_logger().info("Plan %s is valid", plan.plan.id)
    return catalogue


@task(name="fetch data")
def fetch_data(request: RefreshRequest, store: RawStore, kpi_ids: list[str], years: list[int]):
    pages = pipeline.fetch_kolada_data(pipeline.kolada_client(request, store), kpi_ids, years)
    get_run_logger().info(
        "Kolada: %d data pages, %d records for %d KPIs and %d years",
        len(pages),
        sum(page.record_count for page in pages),
        len(kpi_ids),
        len(years),
    )
    return pages


@task(name="transform")
def transform(pages, catalogue, years: tuple[int, int]):
    observations = pipeline.kolada_observations(
        [(page.content_hash, page.body) for page in pages], catalogue, years
    )
    get_run_logger().info("Transformed %d observations", observations.height)
    return observations


@task(name="load")
def load(warehouse_path: Path, batch):
    counts = pipeline.load(warehouse_path, batch)
    get_run_logger().info(
        "Loaded: %d inserted, %d updated, %d unchanged",
        counts.inserted,
        counts.updated,
        counts.unchanged,
    )
    return counts


@task(name="evaluate")
def evaluate(warehouse_path: Path, plan_id: str, municipality_id: str):
    return pipeline.goal_summary(warehouse_path, plan_id, municipality_id)


@flow(name="refresh", log_prints=False)
def refresh(request: RefreshRequest) -> RefreshResult:
    """Refresh the warehouse for one goal plan."""
    logger = get_run_logger()
    pipeline.start_run(
        request.warehouse_path,
        request.run_id,
        "refresh",
        request.plan_path.stem,
        pipeline.refresh_parameters(request),
    )
    store = RawStore(request.raw_dir)
    warnings: list[str] = []
    requests_made = 0
    try:
        plan = pipeline.read_plan(request.plan_path)
        pipeline.land_plan(store, request.run_id, plan)
        fetched = fetch_metadata(request, store)
        if fetched.catalogue_from_warehouse:
            warnings.append(
                "Kolada's catalogue was unreachable: validated against the warehouse's copy"
            )
        catalogue = validate_plan(plan, fetched, request.warehouse_path)
        years = plan.plan.fetch_years(request.years)
        year_range = (years[0], years[-1])
        kpi_ids = pipeline.plan_kpi_ids(plan.plan)
        pages = fetch_data(request, store, kpi_ids, list(years))
        observations = transform(pages, catalogue, year_range)
        warnings += pipeline.missing_data_warnings(observations, kpi_ids, plan.plan.municipality)
        fetched.responses = pipeline.fetched_responses(store, request.run_id)
        requests_made = len(fetched.responses)
        batch = pipeline.build_batch(request.run_id, plan, fetched, catalogue, observations)
        counts = load(request.warehouse_path, batch)
        summary = evaluate(request.warehouse_path, plan.plan.id, plan.plan.municipality)
    except InputError as exc:
        pipeline.finish_run(request.warehouse_path, request.run_id, "refused", error=str(exc))
        raise
    except Exception as exc:
        pipeline.finish_run(
            request.warehouse_path,
            request.run_id,
            "failed",
            requests_made=requests_made,
            warnings=warnings,
            error=f"{type(exc).__name__}: {exc}",
        )
        raise
    store.mark_completed(request.run_id)
    pipeline.finish_run(
        request.warehouse_path,
        request.run_id,
        "succeeded",
        requests_made=requests_made,
        counts=counts,
        warnings=warnings,
    )
    for warning in warnings:
        logger.warning(warning)
    result = RefreshResult(
        run_id=request.run_id,
        plan_id=plan.plan.id,
        years=year_range,
        requests_made=requests_made,
        requests_by_kind=pipeline.requests_by_kind(fetched.responses),
        observations=observations.height,
        counts=counts,
        warnings=warnings,
        summary=summary,
    )
    create_markdown_artifact(
        refresh_markdown(result), key="malbild-refresh", description="malbild refresh summary"
    )
    return result
