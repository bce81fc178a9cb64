"""A refresh, step by step, as plain functions: read the plan, fetch, transform, load.

`flows/refresh.py` wraps these steps in a Prefect flow; `flows/rebuild.py` replays them
from the raw landing without the network. Nothing here knows a source: every source
is asked through `sources.base.Source` (`sources/registry.py` lists them). Nothing here
parses a body or writes SQL: that is `transforms/` and `warehouse/`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from flows.changes import Changes, definition_warnings, read_changes
from flows.recovery import STAGING_PREFIX, remove_stale_staging, settle_loading
from sources.base import FetchContext, Fetched, FetchState, Source, SourceAnswers
from sources.landing import RawStore
from sources.registry import SOURCES
from sources.staging import Stage
from transforms.catalogue import Catalogue
from transforms.checks import check_observations
from transforms.derived import derived_observations, series_depending_on
from transforms.goal_plan import (
    GoalPlan,
    GoalPlanError,
    goal_plan_frames,
)
from transforms.own import OwnFileError
from transforms.rules import ATTRIBUTION, SAMPLE_SOURCE
from transforms.schema import OBSERVATION_KEY, OBSERVATION_SCHEMA
from warehouse import queries
from warehouse.connection import WarehouseError, open_warehouse
from warehouse.load import LoadCounts, MartsStaleError, RefreshBatch, load_refresh
from warehouse.records import FETCH_STATE_SCHEMA
from warehouse.run_log import record_run_end, record_run_start
from warehouse.snapshot import publish_snapshot

log = logging.getLogger("malbild")

PLAN_KIND = "plan"
# The run summary lists what a run changed for plans up to this size; the marts "as known
# before" are computed for the whole plan, which for a national plan of hundreds of
# indicators takes longer than the run: `malbild changes` lists those on demand.
CHANGES_IN_SUMMARY_MAX_INDICATORS = 200
# Manifest lines that are not HTTP answers: the landed plan and the sources' notes.
NOT_RESPONSES = (PLAN_KIND, "unavailable")
COMPUTED_FROM_UNAVAILABLE = "computed from an unavailable series"
SOURCES_BY_NAME: dict[str, Source] = {source.name: source for source in SOURCES}


class InputError(ValueError):
    """Bad input from the user (plan, years, arguments, own files): exit 2, no data written."""


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
    # Fetch everything, not only what changed since the last successful refresh.
    full: bool = False
    run_id: str = field(default_factory=lambda: new_run_id())
    # The CLI records the start before Prefect starts (begin_run); the flow then does not.
    begun: bool = False

    def parameters(self) -> dict[str, Any]:
        """What the run log keeps of the request."""
        return {
            "plan": str(self.plan_path),
            "years": list(self.years) if self.years else None,
            "kolada_url": self.kolada_url,
            "scb_url": self.scb_url,
            "strict": self.strict,
            "full": self.full,
            "raw_dir": str(self.raw_dir),
        }

    def base_urls(self) -> dict[str, str | None]:
        """Base URL per source name (None: the source's own setting)."""
        return {"kolada": self.kolada_url, "scb": self.scb_url}


@dataclass(frozen=True)
class PlanInput:
    """A goal plan as read from its file."""

    plan: GoalPlan
    text: str
    source_file: str
    content_hash: str


@dataclass(frozen=True)
class RunCatalogue:
    """The catalogue a run checks and loads with, and whether it was fetched afresh."""

    catalogue: Catalogue
    fresh: bool


@dataclass
class RefreshResult:
    """What a refresh did: for the terminal summary, the Prefect artifact and tests."""

    run_id: str
    plan_id: str
    years: tuple[int, int]
    requests_made: int
    requests_by_kind: dict[str, int]
    observations: int
    counts: LoadCounts
    warnings: list[str]
    summary: pl.DataFrame
    sample_data: bool = False  # generated values (malbild demo), never real statistics
    # What the run changed for the plan's area (empty on a plan's first run).
    changes: Changes = field(default_factory=Changes)
    # The read-only copy analysts open, published after the run (None: not published).
    snapshot: Path | None = None


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


@contextmanager
def bad_input() -> Iterator[None]:
    """Turn a plan's or an own file's error into InputError (exit 2, nothing written)."""
    try:
        yield
    except (GoalPlanError, OwnFileError) as exc:
        raise InputError(str(exc)) from exc


# -- the sources ------------------------------------------------------------------------------


def sources_for(plan: GoalPlan) -> list[Source]:
    """The registered sources that provide at least one of the plan's series."""
    return [source for source in SOURCES if source.series_ids(plan)]


def fetch_context(
    request: RefreshRequest,
    store: RawStore | None,
    catalogue: Catalogue,
    years: Sequence[int],
    stage: Stage | None = None,
    state: FetchState | None = None,
) -> FetchContext:
    return FetchContext(
        run_id=request.run_id,
        store=store,
        years=list(years),
        catalogue=catalogue,
        plan_dir=request.plan_path.parent,
        base_urls=request.base_urls(),
        stage=stage,
        state=state or FetchState(),
    )


def read_fetch_state(request: RefreshRequest, plan: GoalPlan) -> FetchState:
    """What earlier successful refreshes fetched of the plan's series; nothing with
    ``--full`` or in a new warehouse (everything is then fetched)."""
    if request.full or not request.warehouse_path.exists():
        return FetchState()
    with open_warehouse(request.warehouse_path, read_only=True) as con:
        rows = queries.read_fetch_state(con, plan.fetched_series_ids())
    return FetchState(
        {
            (row["source"], row["series_id"], row["year"]): Fetched(
                row["fetched_at"], row["source_stamp"]
            )
            for row in rows.iter_rows(named=True)
        }
    )


def fetch_state_frame(answers: Mapping[str, SourceAnswers], fetched_at: datetime) -> pl.DataFrame:
    """What this run brought up to date (FETCH_STATE_SCHEMA), for core.fetch_state."""
    rows = [
        (name, series_id, year, fetched_at, stamp)
        for name, found in answers.items()
        for (series_id, year), stamp in found.fetched.items()
    ]
    return pl.DataFrame(rows, schema=FETCH_STATE_SCHEMA, orient="row")


def warehouse_observations(warehouse_path: Path) -> Callable[[list[str]], pl.DataFrame] | None:
    """A reader of the warehouse's current observations of some series (None: no warehouse)."""
    if not warehouse_path.exists():
        return None

    def read(series_ids: list[str]) -> pl.DataFrame:
        with open_warehouse(warehouse_path, read_only=True) as con:
            return queries.read_current_observations(con, series_ids)

    return read


def run_stage(warehouse_path: Path, run_id: str) -> Stage:
    """The run's staging folder beside the warehouse (removed when the run ends)."""
    return Stage(warehouse_path.parent / f"{STAGING_PREFIX}{run_id}")


def fetch_source(source: Source, plan: GoalPlan, context: FetchContext) -> SourceAnswers:
    """One source's answers for the plan, landed as they arrive."""
    with bad_input():
        return source.fetch(plan, context)


def unavailable_series(plan: GoalPlan, answers: Mapping[str, SourceAnswers]) -> dict[str, str]:
    """Every series a source could not provide, with its reason, and what is computed from them."""
    reasons = {sid: why for found in answers.values() for sid, why in found.unavailable.items()}
    for series_id in sorted(series_depending_on(plan, set(reasons)) - set(reasons)):
        reasons[series_id] = COMPUTED_FROM_UNAVAILABLE
    return reasons


# -- transform --------------------------------------------------------------------------------


def plan_observations(
    plan: GoalPlan,
    answers: Mapping[str, SourceAnswers],
    catalogue: Catalogue,
    years: tuple[int, int] | None,
    stage: Stage,
    held: Callable[[list[str]], pl.DataFrame] | None = None,
) -> pl.LazyFrame:
    """Tidy, checked observations of every series of the plan, derived ones included,
    staged: what the fetch staged, each source's other chunks, then the derived series
    (computed from their inputs alone). Returned as a lazy scan of the staged files.

    An incremental refresh stages only what changed: a derived series is computed from
    its inputs as they will be after the load, the warehouse's values (``held``) with
    the run's own taking their place."""
    with bad_input():
        for name, found in answers.items():
            for chunk in SOURCES_BY_NAME[name].observations(plan, found, catalogue):
                stage.write(chunk)
    inputs = {ref for spec in plan.series.values() if spec.derived for ref in spec.derived.inputs()}
    if inputs:
        needed = stage.scan().filter(pl.col("series_id").is_in(sorted(inputs))).collect()
        if held is not None:
            kept = held(sorted(inputs)).cast(OBSERVATION_SCHEMA)  # type: ignore[arg-type]
            needed = pl.concat([needed, kept.join(needed, on=OBSERVATION_KEY, how="anti")])
        needed = needed.filter(~pl.col("is_deleted"))
        stage.write(derived_observations(plan, needed, unavailable_series(plan, answers)))
    observations = stage.scan()
    every_year = [
        sid
        for name in answers
        if SOURCES_BY_NAME[name].every_year
        for sid in SOURCES_BY_NAME[name].series_ids(plan)
    ]
    check_observations(
        observations,
        known_series=set(catalogue.kpis["id"].to_list()) | set(plan.series),
        known_areas=set(catalogue.municipalities["id"].to_list()),
        years=years,
        any_year_series=series_depending_on(plan, every_year),
    )
    return observations


def count_rows(observations: pl.LazyFrame) -> int:
    """How many rows a (staged) frame holds, without reading them into memory."""
    return int(observations.select(pl.len()).collect(engine="streaming").item())


def missing_data_warnings(
    plan: GoalPlan, coverage: Mapping[str, bool], unavailable: Collection[str] = ()
) -> list[str]:
    """Say which indicators have no values, or none for the plan's municipality.

    ``coverage``: the series with a value in the run's years → whether the plan's
    municipality has one (``queries.read_series_coverage``, read after the load: an
    incremental refresh fetches only what changed). Unavailable series are left out:
    they have a warning of their own.
    """
    anywhere = set(coverage)
    focus = {series_id for series_id, found in coverage.items() if found}
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


def unavailable_warnings(plan: GoalPlan, unavailable: Mapping[str, str]) -> list[str]:
    """One line per indicator that cannot be shown, with the source's reason."""
    return [
        f"{placed.indicator.indicator_id}: unavailable — {unavailable[placed.indicator.series_id]}"
        for placed in plan.indicators()
        if placed.indicator.series_id in unavailable
    ]


def check_strict(plan: GoalPlan, unavailable: Mapping[str, str], strict: bool) -> list[str]:
    """Warnings for unavailable indicators; with strict, UnavailableSeriesError instead."""
    warnings = unavailable_warnings(plan, unavailable)
    if strict and warnings:
        raise UnavailableSeriesError("--strict: " + "; ".join(warnings))
    return warnings


# -- load ---------------------------------------------------------------------------------------


def build_batch(
    run_id: str,
    plan: PlanInput,
    catalogue: RunCatalogue,
    unavailable: Mapping[str, str],
    stage: Stage,
    responses: Sequence[Mapping[str, Any]],
    fetch_state: pl.DataFrame | None = None,
) -> RefreshBatch:
    """Everything one run loads, in one transaction.

    A run whose answers are generated sample data (the fakes say so in a header, and the
    landing keeps it) loads every observation with source ``sample`` and every series
    attributed as sample data: the label travels with the data, rebuilds included.
    """
    frames = goal_plan_frames(
        plan.plan, run_id=run_id, source_file=plan.source_file, content_hash=plan.content_hash
    )
    sample_data = is_sample_run(responses)
    if sample_data:
        frames["series"] = frames["series"].with_columns(
            attribution=pl.lit(ATTRIBUTION[SAMPLE_SOURCE])
        )
    frames["goal_indicator"] = frames["goal_indicator"].with_columns(
        pl.col("series_id")
        .replace_strict(dict(unavailable), default=None, return_dtype=pl.String)
        .alias("unavailable_reason")
    )
    fresh = catalogue.catalogue if catalogue.fresh else None
    return RefreshBatch(
        run_id=run_id,
        kpis=fresh.kpis if fresh else None,
        municipalities=fresh.municipalities if fresh else None,
        groups=fresh.groups if fresh else None,
        group_members=fresh.group_members if fresh else None,
        plan=frames,
        observation_files=stage.files(),
        sample_data=sample_data,
        responses=list(responses),
        fetch_state=fetch_state,
    )


def load_batch(con: duckdb.DuckDBPyConnection, batch: RefreshBatch) -> tuple[LoadCounts, list[str]]:
    """Load one run's batch, all of it or nothing; then its marts.

    Marts that could not be rebuilt are a warning: the data is in, and the next
    writable open rebuilds them.
    """
    try:
        return load_refresh(con, batch), []
    except MartsStaleError as exc:
        log.warning("%s", exc)
        return exc.counts, [str(exc)]


def is_sample_run(responses: Iterable[Mapping[str, Any]]) -> bool:
    """Whether any answer of the run was generated sample data (never real statistics)."""
    return any(row.get("sample") for row in responses)


# -- the run log --------------------------------------------------------------------------------


def landed_responses(store: RawStore, run_id: str) -> list[dict[str, Any]]:
    """The run's manifest lines for answers it used (not the landed plan, not notes)."""
    return [row for row in store.manifest(run_id) if row["kind"] not in NOT_RESPONSES]


def requests_by_kind(responses: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """HTTP requests by manifest kind (own files are read, not requested)."""
    counts: dict[str, int] = {}
    for row in responses:
        if row["method"] in ("GET", "POST"):
            counts[row["kind"]] = counts.get(row["kind"], 0) + 1
    return counts


def begin_run(request: RefreshRequest) -> None:
    """Record the refresh as started (a locked warehouse stops it here, before any fetch).

    This first open of the run also brings an old warehouse up to date, and settles the
    runs a killed process left half-marked in the landing (``settle_loading``).
    """
    with open_warehouse(request.warehouse_path) as con:
        settle_loading(con, RawStore(request.raw_dir), request.run_id)
        record_run_start(
            con, request.run_id, "refresh", request.plan_path.stem, request.parameters()
        )
        running = queries.read_running_run_ids(con)
        for folder in remove_stale_staging(request.warehouse_path, running):
            log.info("Removed %s, left by a run that did not finish", folder)


def end_run_failed(
    request: RefreshRequest, store: RawStore, error: Exception, warnings: Sequence[str]
) -> None:
    """Record a run that failed (or was refused: bad input), in its own transaction."""
    status = "refused" if isinstance(error, InputError) else "failed"
    requests = sum(requests_by_kind(landed_responses(store, request.run_id)).values())
    try:
        with open_warehouse(request.warehouse_path) as con:
            record_run_end(
                con,
                request.run_id,
                status,
                requests_made=requests,
                warnings=warnings,
                error=f"{type(error).__name__}: {error}",
            )
    except WarehouseError as exc:
        # The run's own error is the one to report; the next run marks this one abandoned.
        log.warning("The run's failure could not be recorded in the run log: %s", exc)


def load_and_finish(
    request: RefreshRequest,
    store: RawStore,
    plan: PlanInput,
    batch: RefreshBatch,
    warnings: list[str],
    checked: tuple[tuple[int, int], Collection[str]] | None = None,
) -> tuple[LoadCounts, pl.DataFrame, Changes]:
    """Load, read the goal summary and close the run log, on one connection.

    ``checked``: the run's years and unavailable series, for the warnings about
    indicators without values (read from the warehouse after the load). The landing is
    marked complete once the load has committed, then the run log says succeeded: a
    rebuild replays exactly the runs whose data is in the warehouse.
    """
    with open_warehouse(request.warehouse_path) as con:
        before = queries.warehouse_now(con)
        followed_before = queries.plan_loaded(con, plan.plan.id)
        batch.loaded_at = batch.loaded_at or datetime.now(UTC)
        store.mark_loading(request.run_id, batch.loaded_at)
        try:
            counts, load_warnings = load_batch(con, batch)
        except BaseException:
            store.unmark_loading(request.run_id)
            raise
        warnings += load_warnings
        changes = Changes()
        if followed_before:
            definitions = queries.read_definition_changes(con, before, plan.plan.id)
            warnings += definition_warnings(definitions)
            indicators = sum(1 for _ in plan.plan.indicators())
            changed = counts.changed or not definitions.is_empty()
            if changed and indicators <= CHANGES_IN_SUMMARY_MAX_INDICATORS:
                changes = read_changes(con, plan.plan, before)
            elif changed:
                warnings.append(
                    f"the plan has {indicators} indicators: `malbild changes` lists what"
                    " this run changed (the summary does up to"
                    f" {CHANGES_IN_SUMMARY_MAX_INDICATORS})"
                )
        if checked is not None:
            years, unavailable = checked
            series = list(dict.fromkeys(p.indicator.series_id for p in plan.plan.indicators()))
            coverage = queries.read_series_coverage(con, series, plan.plan.municipality, years)
            warnings += missing_data_warnings(plan.plan, coverage, unavailable)
        summary = queries.read_goal_summary(
            con, plan.plan.id, municipality_id=plan.plan.municipality
        )
        store.mark_completed(request.run_id, batch.loaded_at)
        record_run_end(
            con,
            request.run_id,
            "succeeded",
            requests_made=sum(requests_by_kind(batch.responses).values()),
            counts=counts,
            warnings=warnings,
        )
        con.execute("CHECKPOINT")  # the file alone holds everything: it is copied next
    return counts, summary, changes


def publish(warehouse_path: Path, warnings: list[str]) -> Path | None:
    """Publish the analysts' snapshot of the warehouse; a failure is a warning (the data
    is loaded, and the next run publishes again)."""
    try:
        return publish_snapshot(warehouse_path)
    except OSError as exc:
        warning = f"the snapshot for analysts could not be published ({exc})"
        log.warning("%s", warning)
        warnings.append(warning)
        return None
