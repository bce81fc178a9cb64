"""`malbild rebuild`: replay every completed run of the raw landing into a warehouse,
through the same source interface and steps a refresh uses, without the network."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from flows.pipeline import (
    NOT_RESPONSES,
    InputError,
    RunCatalogue,
    build_batch,
    count_rows,
    load_batch,
    new_run_id,
    plan_observations,
    run_stage,
    sources_for,
    unavailable_series,
)
from flows.preflight import read_landed_plan
from sources.base import answers_from_landing
from sources.kolada.series import catalogue_from_answers
from sources.landing import RawStore
from sources.registry import SOURCES
from sources.staging import Stage
from warehouse import queries
from warehouse.connection import open_warehouse
from warehouse.load import LoadCounts, RefreshBatch
from warehouse.run_log import record_run_end, record_run_start
from warehouse.snapshot import publish_snapshot

log = logging.getLogger("malbild")


def replay_run(
    con: duckdb.DuckDBPyConnection, store: RawStore, run_id: str, stage: Stage
) -> tuple[RefreshBatch, int]:
    """One completed run read back from the raw landing, as the batch it loaded (its
    observations staged in ``stage``)."""
    rows = store.manifest(run_id)
    plan = read_landed_plan(store, run_id, rows)
    answers = {source.name: answers_from_landing(store, rows, source.name) for source in SOURCES}
    fresh = catalogue_from_answers(answers["kolada"])
    catalogue = RunCatalogue(fresh, True) if fresh is not None else None
    if catalogue is None:
        found = queries.read_catalogue(con)
        if found is None:
            raise InputError(f"run {run_id}: it landed no catalogue and the warehouse has none")
        catalogue = RunCatalogue(found, False)
    used = {source.name: answers[source.name] for source in sources_for(plan.plan)}
    observations = plan_observations(
        plan.plan,
        used,
        catalogue.catalogue,
        None,
        stage,
        lambda series_ids: queries.read_current_observations(con, series_ids),
    )
    unavailable = unavailable_series(plan.plan, used)
    responses = [row for row in rows if row["kind"] not in NOT_RESPONSES]
    batch = build_batch(run_id, plan, catalogue, unavailable, stage, responses)
    batch.loaded_at = store.loaded_at(run_id)  # the replay's versions keep the run's time
    return batch, count_rows(observations)


def rebuild_from_raw(warehouse_path: Path, raw_dir: Path) -> list[str]:
    """Replay every completed run in the raw landing into the warehouse, oldest first.

    Each replayed load keeps its original run id, so provenance survives the rebuild.
    """
    store = RawStore(raw_dir)
    # Runs whose load began but was never marked completed (a process killed after the
    # commit) are replayed too: their answers are all landed.
    run_ids = store.replayable_run_ids()
    if not run_ids:
        raise InputError(f"{raw_dir}: no completed runs to rebuild from")
    rebuild_id = new_run_id()
    with open_warehouse(warehouse_path) as con:
        record_run_start(con, rebuild_id, "rebuild", None, {"raw_dir": str(raw_dir)})
        total = LoadCounts(0, 0, 0)
        try:
            for run_id in run_ids:
                stage = run_stage(warehouse_path, run_id)
                try:
                    batch, observations = replay_run(con, store, run_id, stage)
                    counts, _ = load_batch(con, batch)
                finally:
                    stage.remove()
                total = total + counts
                log.info("Replayed run %s: %d observations", run_id, observations)
        except Exception as exc:
            record_run_end(con, rebuild_id, "failed", error=f"{type(exc).__name__}: {exc}")
            raise
        record_run_end(con, rebuild_id, "succeeded", counts=total)
        con.execute("CHECKPOINT")
    publish_snapshot(warehouse_path)
    return run_ids
