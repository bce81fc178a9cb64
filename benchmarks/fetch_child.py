"""Fetch workloads over HTTP against the fakes, each in its own process
(`python -m benchmarks.fetch_child ARGS_JSON`).

``refresh_fetch``: what a refresh of a plan fetches, with the real clients and their
default throttles: Kolada's catalogue and data (`KoladaClient`, 5 requests/s), then the
SCB series (`sources.scb.series.ScbSource`: metadata checks, then data under SCB's shared
30-calls-per-10-s limiter read from `/config`). Every answer is landed in a `RawStore`.

``kolada_fetch_load``: malbild's side of the peer comparison: the Kolada data of a plan
fetched, transformed, checked and loaded into a new warehouse.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def _kolada_client(base_url: str, store: Any, run_id: str) -> Any:
    from sources.http import HttpClient, IntervalLimiter
    from sources.kolada import settings
    from sources.kolada.client import KoladaClient

    http = HttpClient(
        limiter=IntervalLimiter(settings.rate_per_second()),
        on_response=store.recorder(run_id, "kolada"),
    )
    return KoladaClient(base_url, http=http)


def refresh_fetch(args: dict[str, Any]) -> dict[str, Any]:
    from sources.base import FetchContext
    from sources.landing import RawStore
    from sources.scb.series import ScbSource, planned_segments
    from tests.catalogue_fixture import fixture_catalogue
    from transforms.goal_plan import parse_goal_plan, plan_kpi_ids

    plan_path = Path(args["plan"])
    plan = parse_goal_plan(plan_path.read_text(encoding="utf-8"), str(plan_path))
    years = list(plan.fetch_years())
    store, run_id = RawStore(Path(args["raw_dir"])), "fetch-benchmark"
    kolada = _kolada_client(args["kolada_url"], store, run_id)
    kpi_ids = plan_kpi_ids(plan)

    started = time.perf_counter()
    kolada.kpis()
    kolada.municipalities()
    kolada.municipality_groups()
    records_by_query: dict[str, int] = defaultdict(int)
    for page in kolada.fetch_data(kpi_ids, years):
        records_by_query[urlsplit(page.url).path] += page.record_count
    kolada_s = time.perf_counter() - started

    mark = time.perf_counter()
    context = FetchContext(
        run_id=run_id,
        store=store,
        years=years,
        catalogue=fixture_catalogue(),
        plan_dir=plan_path.parent,
        base_urls={"scb": args["scb_url"]},
    )
    fetched = ScbSource().fetch(plan, context)
    scb_s = time.perf_counter() - mark
    total = time.perf_counter() - started

    cells_by_table: dict[str, int] = defaultdict(int)
    calls_by_table: dict[str, int] = defaultdict(int)
    for answer in fetched.ok("scb_data"):
        cells_by_table[answer.tag["table"]] += len(json.loads(answer.body)["value"])
        calls_by_table[answer.tag["table"]] += 1
    config = json.loads(next(a.body for a in fetched.ok("scb_config")))
    return {
        "kpis": len(kpi_ids),
        "years": years,
        "kolada_records_by_query": dict(records_by_query),
        "scb_segments": len(planned_segments(plan)),
        "scb_cells_by_table": dict(cells_by_table),
        "scb_calls_by_table": dict(calls_by_table),
        "scb_unavailable": fetched.unavailable,
        "scb_max_cells": config["maxDataCells"],
        "scb_window": [config["maxCallsPerTimeWindow"], config["timeWindow"]],
        "kolada_s": kolada_s,
        "scb_s": scb_s,
        "seconds": total,
        "landed": len(store.manifest(run_id)),
    }


def kolada_fetch_load(args: dict[str, Any]) -> dict[str, Any]:
    from fakes.sample_data import load_kpi_catalogue, load_municipalities
    from sources.landing import RawStore
    from transforms.checks import check_observations
    from transforms.kolada import kolada_pages_to_observations
    from warehouse.connection import open_warehouse
    from warehouse.load import RefreshBatch, load_refresh

    store, run_id = RawStore(Path(args["raw_dir"])), "peer-benchmark"
    known_series = {kpi["id"] for kpi in load_kpi_catalogue()}
    known_areas = {area["id"] for area in load_municipalities()}
    years = args["years"]
    started = time.perf_counter()
    client = _kolada_client(args["kolada_url"], store, run_id)
    pages = [(page.content_hash, page.body) for page in client.fetch_data(args["kpi_ids"], years)]
    fetch_s = time.perf_counter() - started
    observations = kolada_pages_to_observations(pages)
    check_observations(
        observations,
        known_series=known_series,
        known_areas=known_areas,
        years=(min(years), max(years)),
    )
    with open_warehouse(args["warehouse"]) as con:
        load_refresh(
            con,
            RefreshBatch(run_id, observations=observations, responses=store.manifest(run_id)),
        )
    total = time.perf_counter() - started
    return {
        "pages": len(pages),
        "observations": observations.height,
        "fetch_s": fetch_s,
        "seconds": total,
    }


def main() -> None:
    from benchmarks.measure import emit

    args = json.loads(sys.argv[1])
    emit(
        {"refresh_fetch": refresh_fetch, "kolada_fetch_load": kolada_fetch_load}[args["workload"]](
            args
        )
    )


if __name__ == "__main__":
    main()
