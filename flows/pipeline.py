"""A refresh, step by step, as plain functions: fetch, validate, transform, load, evaluate.

`flows/refresh.py` wraps these steps in a Prefect flow; `malbild rebuild` replays them
from the raw landing without the network. Nothing here parses a body or writes SQL:
that is `transforms/` and `warehouse/`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from sources.http import FetchError, HttpClient, IntervalLimiter, Response
from sources.kolada.client import DataPage, KoladaClient
from sources.landing import RawStore
from transforms.catalogue import Catalogue
from transforms.checks import check_observations
from transforms.goal_plan import (
    GoalPlan,
    GoalPlanError,
    goal_plan_frames,
    parse_goal_plan,
    plan_kpi_ids,
    validate_goal_plan,
)
from transforms.kolada import (
    kolada_groups_to_frames,
    kolada_kpis_to_frame,
    kolada_municipalities_to_frame,
    kolada_pages_to_observations,
)
from transforms.schema import empty_observations
from warehouse import load as warehouse_load
from warehouse import queries
from warehouse.connection import open_warehouse

log = logging.getLogger("malbild")

KOLADA = "kolada"
PLAN_KIND = "plan"


class InputError(ValueError):
    """Bad input from the user (plan, years, paths): exit status 2, nothing written."""


@dataclass(frozen=True)
class RefreshRequest:
    """What one refresh is asked to do."""

    plan_path: Path
    warehouse_path: Path
    raw_dir: Path
    years: tuple[int, int] | None = None
    kolada_url: str | None = None
    kolada_rate: float | None = None
    run_id: str = field(default_factory=lambda: new_run_id())


@dataclass(frozen=True)
class PlanInput:
    """A goal plan as read from its file."""

    plan: GoalPlan
    text: str
    source_file: str
    content_hash: str


@dataclass
class Fetched:
    """Everything a run fetched (or a rebuild read back), before any transform."""

    run_id: str
    catalogue_records: dict[str, list[dict[str, Any]]]
    kolada_pages: list[tuple[str, bytes]]
    responses: list[dict[str, Any]]
    catalogue_from_warehouse: bool = False


@dataclass
class RefreshResult:
    """What a refresh did: for the terminal summary, the Prefect artifact and tests."""

    run_id: str
    plan_id: str
    years: tuple[int, int]
    requests_made: int
    requests_by_kind: dict[str, int]
    observations: int
    counts: warehouse_load.LoadCounts
    warnings: list[str]
    summary: pl.DataFrame


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus a random suffix."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def parse_years(text: str | None) -> tuple[int, int] | None:
    """`2020-2024` or `2024` to a closed range; InputError on anything else."""
    if text is None:
        return None
    parts = text.strip().split("-")
    try:
        first, last = (int(parts[0]), int(parts[-1])) if len(parts) in (1, 2) else (0, -1)
    except ValueError:
        first, last = 0, -1
    if not (1950 <= first <= last <= 2100):
        raise InputError(f"--years {text!r}: expected a range like 2020-2024")
    return first, last


def read_plan(path: Path) -> PlanInput:
    """Read and parse a goal plan file; InputError names the file when it cannot."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the goal plan ({exc.strerror})") from exc
    try:
        plan = parse_goal_plan(text, str(path))
    except GoalPlanError as exc:
        raise InputError(str(exc)) from exc
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return PlanInput(plan=plan, text=text, source_file=str(path), content_hash=digest)


def kolada_client(request: RefreshRequest, store: RawStore | None) -> KoladaClient:
    """A Kolada client whose every response is landed in the raw store."""
    recorder = store.recorder(request.run_id, KOLADA) if store is not None else None
    limiter = IntervalLimiter(request.kolada_rate) if request.kolada_rate else None
    client = KoladaClient(
        request.kolada_url, http=HttpClient(on_response=recorder, limiter=limiter)
    )
    if limiter is None:
        client.http.limiter = IntervalLimiter(client.rate_per_second)
    return client


def land_plan(store: RawStore, run_id: str, plan: PlanInput) -> None:
    """Keep the plan text with the run's responses, so a rebuild needs nothing else."""
    store.land(
        Response(
            method="FILE",
            url=Path(plan.source_file).resolve().as_uri(),
            status=200,
            body=plan.text.encode("utf-8"),
            headers={},
            fetched_at=datetime.now(UTC),
        ),
        run_id=run_id,
        source="malbild",
        kind=PLAN_KIND,
    )


def fetch_catalogue(client: KoladaClient) -> dict[str, list[dict[str, Any]]]:
    """The whole Kolada catalogue: KPIs, areas and groups."""
    return {
        "kpi": client.kpis(),
        "municipality": client.municipalities(),
        "municipality_groups": client.municipality_groups(),
    }


def catalogue_frames(records: dict[str, list[dict[str, Any]]]) -> Catalogue:
    groups, members = kolada_groups_to_frames(records["municipality_groups"])
    return Catalogue(
        kpis=kolada_kpis_to_frame(records["kpi"]),
        municipalities=kolada_municipalities_to_frame(records["municipality"]),
        groups=groups,
        group_members=members,
    )


def fetch_catalogue_frames(kolada_url: str | None = None) -> Catalogue:
    """A fresh catalogue straight from Kolada (for plan writers; nothing is landed)."""
    return catalogue_frames(fetch_catalogue(KoladaClient(kolada_url)))


def catalogue_from_warehouse(warehouse_path: Path) -> Catalogue | None:
    """The warehouse's last copy of the catalogue, or None when it has none."""
    if not warehouse_path.exists():
        return None
    with open_warehouse(warehouse_path, read_only=True) as con:
        kpis, municipalities, groups, members = queries.read_catalogue(con)
    if kpis.is_empty() or municipalities.is_empty():
        return None
    return Catalogue(kpis=kpis, municipalities=municipalities, groups=groups, group_members=members)


def validate_plan(plan: PlanInput, catalogue: Catalogue) -> None:
    """Check the plan against the catalogue; InputError lists every problem."""
    try:
        validate_goal_plan(plan.plan, catalogue)
    except GoalPlanError as exc:
        raise InputError(str(exc)) from exc


def fetch_kolada_data(
    client: KoladaClient, kpi_ids: Sequence[str], years: Sequence[int]
) -> list[DataPage]:
    """Every data page for the KPIs and years, all areas at once."""
    return list(client.fetch_data(kpi_ids, years))


def kolada_observations(
    pages: Iterable[tuple[str, bytes]], catalogue: Catalogue, years: tuple[int, int]
) -> pl.DataFrame:
    """Tidy, checked observations from Kolada data pages."""
    observations = kolada_pages_to_observations(pages)
    check_observations(
        observations,
        known_series=set(catalogue.kpis["id"].to_list()),
        known_areas=set(catalogue.municipalities["id"].to_list()),
        years=years,
    )
    return observations


def missing_data_warnings(
    observations: pl.DataFrame, kpi_ids: Sequence[str], focus_municipality: str
) -> list[str]:
    """Say which KPIs came back with no values at all, or none for the focus municipality."""
    with_value = observations.filter(pl.col("value").is_not_null() & ~pl.col("is_deleted"))
    anywhere = set(with_value["series_id"].unique().to_list())
    focus = set(
        with_value.filter(pl.col("municipality_id") == focus_municipality)["series_id"]
        .unique()
        .to_list()
    )
    warnings = []
    for kpi in kpi_ids:
        if kpi not in anywhere:
            warnings.append(f"{kpi}: Kolada has no values for these years (shown grey)")
        elif kpi not in focus:
            warnings.append(
                f"{kpi}: no values for {focus_municipality} in these years (shown grey)"
            )
    return warnings


def requests_by_kind(responses: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in responses:
        counts[row["kind"]] = counts.get(row["kind"], 0) + 1
    return counts


def build_batch(
    run_id: str,
    plan: PlanInput,
    fetched: Fetched,
    catalogue: Catalogue,
    observations: pl.DataFrame,
) -> warehouse_load.RefreshBatch:
    """Everything one run loads, in one transaction."""
    frames = goal_plan_frames(
        plan.plan, run_id=run_id, source_file=plan.source_file, content_hash=plan.content_hash
    )
    from_api = not fetched.catalogue_from_warehouse
    return warehouse_load.RefreshBatch(
        run_id=run_id,
        kpis=catalogue.kpis if from_api else None,
        municipalities=catalogue.municipalities if from_api else None,
        groups=catalogue.groups if from_api else None,
        group_members=catalogue.group_members if from_api else None,
        plan=frames,
        observations=observations,
        responses=fetched.responses,
    )


def load(warehouse_path: Path, batch: warehouse_load.RefreshBatch) -> warehouse_load.LoadCounts:
    """Load one run's batch into the warehouse: all of it or nothing."""
    with open_warehouse(warehouse_path) as con:
        return warehouse_load.load_refresh(con, batch)


def goal_summary(warehouse_path: Path, plan_id: str, municipality_id: str) -> pl.DataFrame:
    """The plan's goal summary for its own municipality, every year."""
    with open_warehouse(warehouse_path, read_only=True) as con:
        return queries.goal_summary(con, plan_id, municipality_id=municipality_id)


def fetched_responses(store: RawStore, run_id: str) -> list[dict[str, Any]]:
    """The run's manifest rows for HTTP responses (the landed plan is not a request)."""
    return [row for row in store.manifest(run_id) if row["kind"] != PLAN_KIND]


def start_run(
    warehouse_path: Path, run_id: str, kind: str, plan_id: str | None, parameters: dict[str, Any]
) -> None:
    """Record the run as started, in its own transaction (the lock is checked here, early)."""
    with open_warehouse(warehouse_path) as con:
        warehouse_load.start_run(con, run_id, kind, plan_id, parameters)


def refresh_parameters(request: RefreshRequest) -> dict[str, Any]:
    return {
        "plan": str(request.plan_path),
        "years": list(request.years) if request.years else None,
        "kolada_url": request.kolada_url,
        "raw_dir": str(request.raw_dir),
    }


def finish_run(
    warehouse_path: Path,
    run_id: str,
    status: str,
    *,
    requests_made: int = 0,
    counts: warehouse_load.LoadCounts | None = None,
    warnings: Sequence[str] = (),
    error: str | None = None,
) -> None:
    with open_warehouse(warehouse_path) as con:
        warehouse_load.finish_run(
            con,
            run_id,
            status,
            requests_made=requests_made,
            counts=counts,
            warnings=list(warnings),
            error=error,
        )


def read_landed_run(store: RawStore, run_id: str) -> tuple[PlanInput | None, Fetched]:
    """Read one landed run back from the raw store, as the fetch step produced it."""
    manifest = store.manifest(run_id)
    plan: PlanInput | None = None
    records: dict[str, list[dict[str, Any]]] = {
        "kpi": [],
        "municipality": [],
        "municipality_groups": [],
    }
    pages: list[tuple[str, bytes]] = []
    responses = []
    for row in manifest:
        body = store.read_body(row["content_hash"])
        if row["kind"] == PLAN_KIND:
            text = body.decode("utf-8")
            source = row["url"].removeprefix("file://")
            try:
                parsed = parse_goal_plan(text, source)
            except GoalPlanError as exc:
                raise InputError(f"run {run_id}: the landed plan no longer parses: {exc}") from exc
            plan = PlanInput(parsed, text, source, row["content_hash"])
            continue
        responses.append(row)
        if row["status"] >= 400:
            continue
        if row["kind"] in records:
            records[row["kind"]].extend(json.loads(body)["values"])
        elif row["kind"] == "data":
            pages.append((row["content_hash"], body))
    return plan, Fetched(run_id, records, pages, responses)


def rebuild_from_raw(warehouse_path: Path, raw_dir: Path) -> list[str]:
    """Replay every completed run in the raw landing into the warehouse, oldest first.

    Each replayed load keeps its original run id, so provenance survives the rebuild.
    """
    store = RawStore(raw_dir)
    run_ids = store.completed_run_ids()
    if not run_ids:
        raise InputError(f"{raw_dir}: no completed runs to rebuild from")
    rebuild_id = new_run_id()
    start_run(warehouse_path, rebuild_id, "rebuild", None, {"raw_dir": str(raw_dir)})
    counts = warehouse_load.LoadCounts(0, 0, 0)
    try:
        for run_id in run_ids:
            plan, fetched = read_landed_run(store, run_id)
            if plan is None:
                raise InputError(f"run {run_id}: its goal plan was not landed")
            catalogue = (
                catalogue_frames(fetched.catalogue_records)
                if fetched.catalogue_records["kpi"]
                else catalogue_from_warehouse(warehouse_path)
            )
            if catalogue is None:
                raise InputError(f"run {run_id}: no catalogue landed and none in the warehouse")
            fetched.catalogue_from_warehouse = not fetched.catalogue_records["kpi"]
            years = plan.plan.fetch_years(None)
            observations = kolada_observations(
                fetched.kolada_pages, catalogue, (years[0], years[-1])
            )
            batch = build_batch(run_id, plan, fetched, catalogue, observations)
            counts = counts + load(warehouse_path, batch)
            log.info("Replayed run %s: %d observations", run_id, observations.height)
    except Exception as exc:
        finish_run(warehouse_path, rebuild_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    finish_run(warehouse_path, rebuild_id, "succeeded", counts=counts)
    return run_ids
