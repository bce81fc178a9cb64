"""Section 10's storage workloads, each in its own process (`python -m benchmarks.history_child`).

``build``: a warehouse of ``scale`` SYNTHETIC observations (generated here with Polars in
OBSERVATION_SCHEMA: the first kommun KPI ids × the 312 real area ids × 2000–2024 ×
genders T/K/M, values made up) loaded with `load_refresh` into a new file.
``revise``: on (a copy of) that file, a `load_refresh` of only the rows an incremental
refresh would bring when some values were revised: every ``every``-th row (spread
over the whole table), or every ``every``-th series-year (a KPI's year for all areas).

Both report `load_refresh`'s wall time and its statements' by part (the merge, the
history's, the commits), the tables' rows and storage blocks after a CHECKPOINT, and
the file's size. No plan and no catalogue are loaded: the marts' rebuild inside
`load_refresh` has nothing to build. DuckDB as malbild opens it (`open_warehouse`:
memory_limit 512 MB), 2 threads.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

YEARS = tuple(range(2000, 2025))
GENDERS = ("T", "K", "M")
SOURCE = "kolada"
TABLES = ("core.observation", "core.observation_history")


def dimensions(scale: int) -> tuple[list[str], list[str]]:
    """The series ids (real kommun KPI ids, the fewest that hold ``scale`` rows) and areas."""
    from benchmarks.synthetic import eligible_kpis
    from fakes.sample_data import load_municipalities

    areas = [area["id"] for area in load_municipalities()]
    per_series = len(areas) * len(YEARS) * len(GENDERS)
    needed = -(-scale // per_series)
    series = [kpi for kpi, _ in eligible_kpis()][:needed]
    if len(series) < needed:
        raise ValueError(f"{scale:,} observations need {needed} series; there are {len(series)}")
    return series, areas


def synthetic_observations(
    dims: tuple[list[str], list[str]],
    scale: int,
    *,
    every: int = 1,
    unit: int = 1,
    revision: str | None = None,
) -> pl.DataFrame:
    """The ``scale`` generated observations, ordered by series, year, area and gender, or
    of them every ``every``-th run of ``unit`` rows (unit 1: single rows spread evenly;
    one series-year: a KPI's year for every area); with ``revision``, each value changed.
    """
    from transforms.schema import OBSERVATION_SCHEMA

    series, areas = dims
    per_year = len(areas) * len(GENDERS)
    per_series = per_year * len(YEARS)
    i = pl.col("i")
    s, rest = i // per_series, i % per_series
    y, a, g = rest // per_year, (rest % per_year) // len(GENDERS), rest % len(GENDERS)
    base = ((i * 7919) % 1_000_003).cast(pl.Float64) / 100.0
    tag = revision or "base"
    rows = pl.DataFrame({"i": pl.int_range(0, scale, dtype=pl.Int64, eager=True)})
    if every > 1:
        rows = rows.filter((i // unit) % every == 0)
    frame = rows.with_columns(s=s, y=y, a=a, g=g).select(
        source=pl.lit(SOURCE),
        series_id=pl.lit(pl.Series(series)).gather(pl.col("s")),
        municipality_id=pl.lit(pl.Series(areas)).gather(pl.col("a")),
        year=(pl.col("y") + YEARS[0]).cast(pl.Int32),
        gender=pl.lit(pl.Series(GENDERS)).gather(pl.col("g")),
        value=base + (0.5 if revision else 0.0),
        count=pl.lit(None, pl.Int32),
        status=pl.lit(None, pl.String),
        is_deleted=pl.lit(False),
        table_id=pl.lit(None, pl.String),
        source_updated=pl.lit(None, pl.Datetime("us", "UTC")),
        # One "page" per series and year, as Kolada's pages come.
        response_hash=pl.format(f"synthetic-{tag}-{{}}-{{}}", pl.col("s"), pl.col("y")),
    )
    return frame.cast(OBSERVATION_SCHEMA)  # type: ignore[arg-type]


def series_year_rows(areas: list[str]) -> int:
    """Rows of one series-year (every area and gender)."""
    return len(areas) * len(GENDERS)


def storage(con: Any, path: Path) -> dict[str, Any]:
    """Rows and storage blocks per table, and the file's size, after a CHECKPOINT."""
    started = time.perf_counter()
    con.execute("CHECKPOINT")
    checkpoint_s = time.perf_counter() - started
    block, used, free = con.execute(
        "SELECT block_size, used_blocks, free_blocks FROM pragma_database_size()"
    ).fetchone()
    tables = {}
    for table in TABLES:
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        # Blocks that hold the table's persistent segments (a block shared by small
        # segments of several columns counts once): bytes on disk, roughly.
        blocks = con.execute(
            f"""
            SELECT count(DISTINCT b) FROM (
                SELECT block_id AS b FROM pragma_storage_info('{table}') WHERE persistent
                UNION ALL
                SELECT unnest(additional_block_ids) FROM pragma_storage_info('{table}')
                WHERE persistent AND additional_block_ids IS NOT NULL
            ) WHERE b >= 0
            """
        ).fetchone()[0]
        tables[table] = {"rows": int(rows), "bytes": int(blocks) * int(block)}
    changes = dict(
        con.execute(
            "SELECT change || CASE WHEN valid_to IS NULL THEN '' ELSE ' (closed)' END, count(*)"
            " FROM core.observation_history GROUP BY ALL"
        ).fetchall()
    )
    return {
        "tables": tables,
        "history_versions": changes,
        "file_bytes": path.stat().st_size,
        # The file never shrinks: blocks a checkpoint rewrote stay in it, free for reuse.
        "used_bytes": int(used) * int(block),
        "free_bytes": int(free) * int(block),
        "checkpoint_s": checkpoint_s,
    }


# Where a load's time goes: its statements by what they write.
PARTS = (
    ("merge", ("MERGE INTO core.observation ", "INSERT INTO core.observation (")),
    ("key check", ("SELECT count(*) = count(DISTINCT hash(",)),
    (
        "history",
        (
            "INSERT INTO core.observation_history",
            "UPDATE core.observation_history",
            "DELETE FROM core.observation WHERE run_id",
            "SELECT count(*) FILTER",
        ),
    ),
)


class _Clock:
    """A connection that times its statements and commits (the rest passes through)."""

    def __init__(self, con: Any):
        self._con = con
        self.seconds: dict[str, float] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def _add(self, part: str, started: float) -> None:
        self.seconds[part] = self.seconds.get(part, 0.0) + time.perf_counter() - started

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        text = " ".join(sql.split())
        part = next(
            (name for name, starts in PARTS if any(text.startswith(s) for s in starts)), "other"
        )
        started = time.perf_counter()
        try:
            return self._con.execute(sql, *args, **kwargs)
        finally:
            self._add(part, started)

    def commit(self) -> Any:
        started = time.perf_counter()
        try:
            return self._con.commit()
        finally:
            self._add("commit", started)


def _timed_load(con: Any, batch: Any) -> dict[str, Any]:
    """`load_refresh`'s wall time, and its statements' by part (merge, history, commit …)."""
    from warehouse.load import load_refresh

    clock = _Clock(con)
    started = time.perf_counter()
    counts = load_refresh(clock, batch)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    parts = dict(clock.seconds)
    parts["other"] = seconds - sum(v for k, v in parts.items() if k != "other")
    return {
        "load_s": seconds,
        "parts": parts,
        "inserted": counts.inserted,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        "deleted": counts.deleted,
    }


def build(args: dict[str, Any]) -> dict[str, Any]:
    from warehouse.connection import open_warehouse
    from warehouse.load import RefreshBatch

    path = Path(args["warehouse"])
    series, areas = args["series"], args["areas"]
    started = time.perf_counter()
    frame = synthetic_observations((series, areas), args["scale"])
    generate_s = time.perf_counter() - started
    with open_warehouse(path) as con:
        con.execute(f"SET threads = {int(args['threads'])}")
        loaded = _timed_load(con, RefreshBatch(run_id="synthetic-first", observations=frame))
        del frame
        found = storage(con, path)
    return {
        **loaded,
        **found,
        "generate_s": generate_s,
        "observations": args["scale"],
        "series": len(series),
        "areas": len(areas),
        "file_bytes_closed": path.stat().st_size,
    }


def revise(args: dict[str, Any]) -> dict[str, Any]:
    from warehouse.connection import open_warehouse
    from warehouse.load import RefreshBatch

    path = Path(args["warehouse"])
    label = args["label"]
    frame = synthetic_observations(
        (args["series"], args["areas"]),
        args["scale"],
        every=int(args["every"]),
        unit=int(args["unit"]),
        revision=label,
    )
    with open_warehouse(path) as con:
        con.execute(f"SET threads = {int(args['threads'])}")
        before = storage(con, path)
        batch = RefreshBatch(run_id=f"synthetic-revision-{label}", observations=frame)
        loaded = _timed_load(con, batch)
        after = storage(con, path)
    return {
        **loaded,
        "revised_rows": frame.height,
        "before": before,
        "after": after,
        "file_bytes_closed": path.stat().st_size,
    }


def main() -> None:
    from benchmarks.measure import emit

    args = json.loads(sys.argv[1])
    emit({"build": build, "revise": revise}[args["workload"]](args))


if __name__ == "__main__":
    main()
