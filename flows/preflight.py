"""Before a refresh fetches data: read and land the plan, probe the sources, fetch
Kolada's catalogue (or take the warehouse's copy), check the plan, choose the years.

`malbild run` does all of this before Prefect starts, so a bad plan, a locked warehouse
or no network is told in a second; the flow then reads what it found from the landing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flows.pipeline import (
    PLAN_KIND,
    InputError,
    PlanInput,
    RefreshRequest,
    RunCatalogue,
    bad_input,
    fetch_context,
    sources_for,
)
from sources.base import FetchContext, answers_from_landing
from sources.http import FetchError, Response, probe
from sources.kolada.series import catalogue_endpoint, catalogue_from_answers, fetch_catalogue
from sources.landing import RawStore
from transforms.catalogue import EMPTY_CATALOGUE, Catalogue
from transforms.goal_plan import (
    GoalPlan,
    GoalPlanError,
    decode_plan_text,
    parse_goal_plan,
    validate_goal_plan,
)
from warehouse import queries
from warehouse.connection import open_warehouse

log = logging.getLogger("malbild")


# -- the plan ---------------------------------------------------------------------------


def read_plan(path: Path) -> PlanInput:
    """Read and parse a goal plan file; InputError names the file when it cannot."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the goal plan ({exc.strerror})") from exc
    with bad_input():
        text = decode_plan_text(data, str(path))
        plan = parse_goal_plan(text, str(path))
    digest = hashlib.sha256(data).hexdigest()
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


def read_landed_plan(store: RawStore, run_id: str, rows: Iterable[Mapping[str, Any]]) -> PlanInput:
    """The goal plan a landed run was made with."""
    for row in rows:
        if row["kind"] == PLAN_KIND:
            source = str(row["url"]).removeprefix("file://")
            try:
                text = decode_plan_text(store.read_body(row["content_hash"]), source)
                parsed = parse_goal_plan(text, source)
            except GoalPlanError as exc:
                raise InputError(
                    f"run {run_id}: its landed goal plan does not parse: {exc}"
                ) from exc
            return PlanInput(parsed, text, source, row["content_hash"])
    raise InputError(f"run {run_id}: no goal plan was landed with it")


def check_plan(plan: PlanInput, catalogue: Catalogue) -> None:
    """Check the plan against the catalogue; InputError lists every problem."""
    with bad_input():
        validate_goal_plan(plan.plan, catalogue)


# -- the catalogue ---------------------------------------------------------------------------


def fetch_run_catalogue(
    request: RefreshRequest, store: RawStore, warnings: list[str]
) -> RunCatalogue:
    """Kolada's catalogue, landed with the run; the warehouse's copy when Kolada fails."""
    try:
        catalogue = fetch_catalogue(request.kolada_url, store=store, run_id=request.run_id)
    except FetchError as exc:
        log.warning("Kolada's catalogue could not be fetched (%s): using the warehouse's", exc)
        return _warehouse_copy(request, warnings, cause=exc)
    return RunCatalogue(catalogue, fresh=True)


def _warehouse_copy(
    request: RefreshRequest, warnings: list[str], cause: Exception | None = None
) -> RunCatalogue:
    warnings.append(
        "Kolada's catalogue was unreachable: the plan was checked against the warehouse's copy"
    )
    return RunCatalogue(warehouse_catalogue(request.warehouse_path, cause=cause), fresh=False)


# -- before the run: everything that can refuse it in a few seconds ------------------------------


def years_to_fetch(request: RefreshRequest, plan: GoalPlan) -> list[int]:
    """`--years` exactly; else the plan's years, with the year before them (the baseline
    for change from the previous year) only when the warehouse lacks it for some series.

    A plan with a pct_change series always fetches it: that formula is computed from the
    run's own values, the year before included.
    """
    years = list(plan.fetch_years(request.years))
    needs_baseline = any(
        spec.derived is not None and spec.derived.formula == "pct_change"
        for spec in plan.series.values()
    )
    if request.years is not None or needs_baseline or not request.warehouse_path.exists():
        return years
    wanted = plan.fetched_series_ids()
    with open_warehouse(request.warehouse_path, read_only=True) as con:
        present = queries.read_series_with_values_in_year(con, wanted, plan.baseline_year)
    return [year for year in years if year != plan.baseline_year or set(wanted) - present]


def endpoints(plan: GoalPlan, context: FetchContext) -> list[str]:
    """The addresses a run of the plan will ask: the catalogue's, and each source's."""
    asked = [catalogue_endpoint(context.base_url("kolada"))]
    asked += [url for source in sources_for(plan) if (url := source.endpoint(context))]
    return list(dict.fromkeys(asked))


def prepare(
    request: RefreshRequest, store: RawStore, warnings: list[str]
) -> tuple[PlanInput, RunCatalogue]:
    """Read and land the plan, probe every address, fetch the catalogue, check the plan.

    A bad plan is InputError and an unreachable host UnreachableError within seconds,
    before any data is fetched (and, from the CLI, before Prefect starts).
    """
    plan = read_plan(request.plan_path)
    land_plan(store, request.run_id, plan)
    years = plan.plan.fetch_years(request.years)  # the probe needs no exact years
    for url in endpoints(plan.plan, fetch_context(request, None, EMPTY_CATALOGUE, years)):
        probe(url)
    catalogue = fetch_run_catalogue(request, store, warnings)
    check_plan(plan, catalogue.catalogue)
    return plan, catalogue


@dataclass
class PlanCheck:
    """What `malbild check` found beyond the plan file: per source, the series it cannot
    provide (with why), and the sources it could not ask."""

    problems: dict[str, str] = field(default_factory=dict)
    not_checked: dict[str, str] = field(default_factory=dict)


def check_sources(plan: PlanInput, catalogue: Catalogue, request: RefreshRequest) -> PlanCheck:
    """Ask every source of the plan what it cannot provide (SCB: tables, content codes,
    selected variables; own files: every cell), without fetching data or landing."""
    found = PlanCheck()
    years = plan.plan.fetch_years(request.years)
    context = fetch_context(request, None, catalogue, years)
    for source in sources_for(plan.plan):
        try:
            with bad_input():
                found.problems.update(source.check(plan.plan, context))
        except FetchError as exc:
            found.not_checked[source.name] = str(exc)
    return found


def resume(
    request: RefreshRequest, store: RawStore, warnings: list[str]
) -> tuple[PlanInput, RunCatalogue]:
    """What ``prepare`` found, read back from the run's landing (no request is repeated)."""
    rows = store.manifest(request.run_id)
    plan = read_landed_plan(store, request.run_id, rows)
    landed = catalogue_from_answers(answers_from_landing(store, rows, "kolada"))
    if landed is None:
        return plan, _warehouse_copy(request, warnings)
    return plan, RunCatalogue(landed, fresh=True)


def warehouse_catalogue(warehouse_path: Path, cause: Exception | None = None) -> Catalogue:
    """The warehouse's last copy of the catalogue; FetchError when it has none."""
    if warehouse_path.exists():
        with open_warehouse(warehouse_path, read_only=True) as con:
            catalogue = queries.read_catalogue(con)
        if catalogue is not None:
            return catalogue
    raise FetchError(
        "Kolada's catalogue could not be fetched and the warehouse has no copy of it yet"
        + (f" ({cause})" if cause else ""),
        url=str(warehouse_path),
    )
