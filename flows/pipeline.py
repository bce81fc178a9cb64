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
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from flows import scb_steps
from flows.scb_steps import ScbFetched
from sources.http import FetchError, Response
from sources.kolada.client import KoladaClient, kolada_http_client
from sources.landing import RawStore
from transforms.catalogue import Catalogue
from transforms.checks import check_observations
from transforms.goal_plan import (
    GoalPlan,
    GoalPlanError,
    goal_plan_frames,
    parse_goal_plan,
    validate_goal_plan,
)
from transforms.kolada import (
    kolada_groups_to_frames,
    kolada_kpis_to_frame,
    kolada_municipalities_to_frame,
    kolada_pages_to_observations,
)
from warehouse import load as warehouse_load
from warehouse import queries
from warehouse.connection import open_warehouse

log = logging.getLogger("malbild")

KOLADA = "kolada"
PLAN_KIND = "plan"
CATALOGUE_KINDS = ("kpi", "municipality", "municipality_groups")


class InputError(ValueError):
    """Bad input from the user (plan, years, arguments): exit status 2, no data written."""


class UnavailableSeriesError(RuntimeError):
    """With --strict: a plan series that the source no longer has fails the run."""


@dataclass(frozen=True)
class RefreshRequest:
    """What one refresh is asked to do."""

    plan_path: Path
    warehouse_path: Path
    raw_dir: Path
    years: tuple[int, int] | None = None
    kolada_url: str | None = None
    scb_url: str | None = None
    strict: bool = False
    run_id: str = field(default_factory=lambda: new_run_id())

    def parameters(self) -> dict[str, Any]:
        """What the run log keeps of the request."""
        return {
            "plan": str(self.plan_path),
            "years": list(self.years) if self.years else None,
            "kolada_url": self.kolada_url,
            "scb_url": self.scb_url,
            "strict": self.strict,
            "raw_dir": str(self.raw_dir),
        }


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

    catalogue: Catalogue | None
    kolada_pages: list[tuple[str, bytes]] = field(default_factory=list)
    scb: ScbFetched = field(default_factory=ScbFetched)


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
    """`2020-2024` or `2024` as a closed range; InputError on anything else."""
    if text is None:
        return None
    parts = text.strip().split("-")
    try:
        first, last = int(parts[0]), int(parts[-1])
    except ValueError:
        first, last = 0, -1
    if len(parts) > 2 or not (1950 <= first <= last <= 2100):
        raise InputError(f"--years {text!r}: expected a year range like 2020-2024")
    return first, last


# -- the plan ---------------------------------------------------------------------------


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


def validate_plan(plan: PlanInput, catalogue: Catalogue) -> None:
    """Check the plan against the catalogue; InputError lists every problem."""
    try:
        validate_goal_plan(plan.plan, catalogue)
    except GoalPlanError as exc:
        raise InputError(str(exc)) from exc


# -- Kolada -----------------------------------------------------------------------------


def kolada_client(request: RefreshRequest, store: RawStore | None) -> KoladaClient:
    """A Kolada client whose every response is landed in the raw store."""
    recorder = store.recorder(request.run_id, KOLADA) if store is not None else None
    return KoladaClient(request.kolada_url, http=kolada_http_client(on_response=recorder))


def fetch_catalogue(client: KoladaClient) -> dict[str, list[dict[str, Any]]]:
    """The whole Kolada catalogue: KPIs, areas and groups, as records."""
    return {
        "kpi": client.kpis(),
        "municipality": client.municipalities(),
        "municipality_groups": client.municipality_groups(),
    }


def catalogue_frames(records: Mapping[str, list[dict[str, Any]]]) -> Catalogue:
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


def run_catalogue(fetched: Fetched, warehouse_path: Path) -> Catalogue:
    """The catalogue the run fetched, else the warehouse's copy; FetchError when neither."""
    if fetched.catalogue is not None:
        return fetched.catalogue
    catalogue = catalogue_from_warehouse(warehouse_path)
    if catalogue is None:
        raise FetchError(
            "Kolada's catalogue could not be fetched and the warehouse has no copy of it yet",
            url=str(warehouse_path),
        )
    return catalogue


def fetch_kolada_data(
    client: KoladaClient, kpi_ids: Sequence[str], years: Sequence[int]
) -> list[tuple[str, bytes]]:
    """Every data page (hash, body) for the KPIs and years, all areas at once."""
    if not kpi_ids:
        return []
    return [(page.content_hash, page.body) for page in client.fetch_data(kpi_ids, years)]


# -- transform ----------------------------------------------------------------------------


def plan_observations(
    plan: GoalPlan,
    fetched: Fetched,
    catalogue: Catalogue,
    years: tuple[int, int] | None,
) -> pl.DataFrame:
    """Tidy, checked observations of every Kolada KPI and SCB/derived series of the plan."""
    kolada = kolada_pages_to_observations(fetched.kolada_pages)
    scb = scb_steps.scb_observations(plan, fetched.scb)
    observations = pl.concat([kolada, scb]) if not scb.is_empty() else kolada
    check_observations(
        observations,
        known_series=set(catalogue.kpis["id"].to_list()) | set(plan.series),
        known_areas=set(catalogue.municipalities["id"].to_list()),
        years=years,
    )
    return observations


def missing_data_warnings(
    plan: GoalPlan, observations: pl.DataFrame, unavailable: Collection[str] = ()
) -> list[str]:
    """Say which indicators came back with no values, or none for the plan's municipality.

    Unavailable series are left out: they have a warning of their own.
    """
    with_value = observations.filter(pl.col("value").is_not_null() & ~pl.col("is_deleted"))
    anywhere = set(with_value["series_id"].unique().to_list())
    focus = set(
        with_value.filter(pl.col("municipality_id") == plan.municipality)["series_id"]
        .unique()
        .to_list()
    )
    warnings = []
    for series_id in dict.fromkeys(placed.indicator.series_id for placed in plan.indicators()):
        if series_id in unavailable:
            continue
        if series_id not in anywhere:
            warnings.append(f"{series_id}: no values for these years (shown grey)")
        elif series_id not in focus:
            warnings.append(
                f"{series_id}: no values for {plan.municipality} in these years (shown grey)"
            )
    return warnings


def check_strict(plan: GoalPlan, unavailable: Mapping[str, str], strict: bool) -> list[str]:
    """Warnings for unavailable indicators; with strict, UnavailableSeriesError instead."""
    warnings = scb_steps.unavailable_warnings(plan, unavailable)
    if strict and warnings:
        raise UnavailableSeriesError("--strict: " + "; ".join(warnings))
    return warnings


# -- load and evaluate ------------------------------------------------------------------------


def build_batch(
    run_id: str,
    plan: PlanInput,
    fetched: Fetched,
    catalogue: Catalogue,
    observations: pl.DataFrame,
    responses: Sequence[Mapping[str, Any]],
) -> warehouse_load.RefreshBatch:
    """Everything one run loads, in one transaction."""
    frames = goal_plan_frames(
        plan.plan, run_id=run_id, source_file=plan.source_file, content_hash=plan.content_hash
    )
    reasons = fetched.scb.unavailable
    frames["goal_indicator"] = frames["goal_indicator"].with_columns(
        pl.col("series_id")
        .replace_strict(reasons, default=None, return_dtype=pl.String)
        .alias("unavailable_reason")
    )
    fresh = fetched.catalogue is not None
    return warehouse_load.RefreshBatch(
        run_id=run_id,
        kpis=catalogue.kpis if fresh else None,
        municipalities=catalogue.municipalities if fresh else None,
        groups=catalogue.groups if fresh else None,
        group_members=catalogue.group_members if fresh else None,
        plan=frames,
        observations=observations,
        responses=list(responses),
    )


def load(
    warehouse_path: Path, batch: warehouse_load.RefreshBatch
) -> tuple[warehouse_load.LoadCounts, list[str]]:
    """Load one run's batch into the warehouse, all of it or nothing; then its marts.

    Marts that could not be rebuilt are a warning: the data is in, and the next
    writable open rebuilds them.
    """
    with open_warehouse(warehouse_path) as con:
        try:
            return warehouse_load.load_refresh(con, batch), []
        except warehouse_load.MartsStaleError as exc:
            log.warning("%s", exc)
            return exc.counts, [str(exc)]


def goal_summary(warehouse_path: Path, plan_id: str, municipality_id: str) -> pl.DataFrame:
    """The plan's goal summary for its own municipality, every year."""
    with open_warehouse(warehouse_path, read_only=True) as con:
        return queries.goal_summary(con, plan_id, municipality_id=municipality_id)


# -- the run log --------------------------------------------------------------------------


def landed_responses(store: RawStore, run_id: str) -> list[dict[str, Any]]:
    """The run's manifest rows for requests made (the landed plan is not a request)."""
    return [row for row in store.manifest(run_id) if row["kind"] != PLAN_KIND]


def requests_by_kind(responses: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in responses:
        counts[row["kind"]] = counts.get(row["kind"], 0) + 1
    return counts


def start_run(
    warehouse_path: Path, run_id: str, kind: str, plan_id: str | None, parameters: dict[str, Any]
) -> None:
    """Record the run as started, in its own transaction (a locked warehouse stops it here)."""
    with open_warehouse(warehouse_path) as con:
        warehouse_load.start_run(con, run_id, kind, plan_id, parameters)


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
    """Record how the run ended, in its own transaction."""
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


# -- rebuild ------------------------------------------------------------------------------


def read_landed_run(store: RawStore, run_id: str) -> tuple[PlanInput, Fetched]:
    """One completed run read back from the raw landing, as its fetch steps produced it."""
    plan: PlanInput | None = None
    records: dict[str, list[dict[str, Any]]] = {kind: [] for kind in CATALOGUE_KINDS}
    pages: list[tuple[str, bytes]] = []
    scb_landed: list[tuple[dict[str, Any], bytes]] = []
    for row in store.manifest(run_id):
        body = store.read_body(row["content_hash"])
        if row["kind"] == PLAN_KIND:
            source = row["url"].removeprefix("file://")
            text = body.decode("utf-8")
            try:
                parsed = parse_goal_plan(text, source)
            except GoalPlanError as exc:
                raise InputError(
                    f"run {run_id}: its landed goal plan does not parse: {exc}"
                ) from exc
            plan = PlanInput(parsed, text, source, row["content_hash"])
        elif row["source"] == scb_steps.SCB:
            scb_landed.append((row, body))
        elif row["status"] < 400 and row["kind"] in records:
            records[row["kind"]].extend(json.loads(body)["values"])
        elif row["status"] < 400 and row["kind"] == "data":
            pages.append((row["content_hash"], body))
    if plan is None:
        raise InputError(f"run {run_id}: no goal plan was landed with it")
    catalogue = catalogue_frames(records) if all(records.values()) else None
    return plan, Fetched(catalogue, pages, scb_steps.landed_scb_answers(plan.plan, scb_landed))


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
    total = warehouse_load.LoadCounts(0, 0, 0)
    try:
        for run_id in run_ids:
            plan, fetched = read_landed_run(store, run_id)
            catalogue = run_catalogue(fetched, warehouse_path)
            observations = plan_observations(plan.plan, fetched, catalogue, None)
            responses = landed_responses(store, run_id)
            batch = build_batch(run_id, plan, fetched, catalogue, observations, responses)
            counts, _ = load(warehouse_path, batch)
            total = total + counts
            log.info("Replayed run %s: %d observations", run_id, observations.height)
    except Exception as exc:
        finish_run(warehouse_path, rebuild_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    finish_run(warehouse_path, rebuild_id, "succeeded", counts=total)
    return run_ids
