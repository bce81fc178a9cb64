"""What a killed run leaves behind, settled by the next: a landing marked as loading,
a staging folder beside the warehouse (the run log's own rows: warehouse/run_log.py)."""

from __future__ import annotations

import shutil
from collections.abc import Collection
from pathlib import Path

import duckdb

from sources.landing import RawStore
from warehouse import queries
from warehouse.run_log import record_run_settled

STAGING_PREFIX = ".malbild-staging-"


def remove_stale_staging(warehouse_path: Path, running: Collection[str]) -> list[Path]:
    """Remove the staging folders a killed process left beside the warehouse: all but
    those of runs still running (which may be fetching into theirs). Call it holding the
    warehouse for writing: no other process is loading from one then."""
    removed = []
    for folder in warehouse_path.parent.glob(f"{STAGING_PREFIX}*"):
        if folder.is_dir() and folder.name.removeprefix(STAGING_PREFIX) not in running:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def settle_loading(con: duckdb.DuckDBPyConnection, store: RawStore, by: str) -> list[str]:
    """Make the landing and the run log agree about runs whose process died while
    loading: a load that committed is marked completed (a rebuild replays it) and its run
    succeeded; one that did not is no run to replay. Returns the runs settled as loaded."""
    loaded = []
    for run_id in store.loading_run_ids():
        if queries.run_committed(con, run_id):
            store.mark_completed(run_id, store.loaded_at(run_id))
            record_run_settled(con, run_id, by)
            loaded.append(run_id)
        else:
            store.unmark_loading(run_id)
    return loaded
