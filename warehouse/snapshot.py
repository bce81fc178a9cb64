"""The read-only snapshot analysts open: the warehouse as the last successful run left it.

A refresh writes the warehouse; analysts, BI tools and the report open the snapshot, a
copy published after each successful run by an atomic rename. A long refresh never
blocks a query, and a query held open never fails a refresh: the rename leaves an open
snapshot readable to its reader (on Linux and macOS) until it closes it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

SNAPSHOT_ENV = "MALBILD_SNAPSHOT"


def snapshot_path(warehouse: Path) -> Path:
    """`MALBILD_SNAPSHOT`, else `<warehouse>.snapshot.duckdb` beside the warehouse."""
    configured = os.environ.get(SNAPSHOT_ENV)
    if configured:
        return Path(configured)
    return warehouse.with_name(f"{warehouse.stem}.snapshot{warehouse.suffix or '.duckdb'}")


def publish_snapshot(warehouse: Path, target: Path | None = None) -> Path:
    """Copy the (closed, checkpointed) warehouse and rename the copy over the snapshot."""
    target = target or snapshot_path(warehouse)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(warehouse, "rb") as source, open(temp, "wb") as copy:
            shutil.copyfileobj(source, copy, 16 * 1024 * 1024)
            copy.flush()
            os.fsync(copy.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target
