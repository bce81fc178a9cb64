"""One transform-and-load workload, run in its own process (`python -m benchmarks.load_child`).

``malbild``: landed pages → `kolada_pages_to_observations` → `check_observations` →
`load_refresh` (catalogue, plan, observations, responses in one transaction).
``duckdb``: the baseline, DuckDB alone: the same `.json.gz` objects read with
`read_json`, unnested and merged on the same key into a table without a declared
PRIMARY KEY (as `core.observation`).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

MAX_PLAN_INDICATORS = 100


def _page_paths(raw_dir: Path, run_id: str) -> tuple[list[dict[str, Any]], list[str]]:
    from sources.landing import RawStore

    store = RawStore(raw_dir)
    manifest = [row for row in store.manifest(run_id) if row["kind"] == "data"]
    # The landing's documented layout: objects/<hash[:2]>/<hash>.json.gz
    paths = [
        str(store.objects_dir / row["content_hash"][:2] / f"{row['content_hash']}.json.gz")
        for row in manifest
    ]
    return manifest, paths


def malbild(args: dict[str, Any]) -> dict[str, Any]:
    import polars as pl

    from benchmarks.goal_plans import synthetic_plan
    from fakes.sample_data import load_kpi_catalogue, load_municipalities, load_municipality_groups
    from sources.landing import RawStore
    from transforms.checks import check_observations
    from transforms.goal_plan import goal_plan_frames
    from transforms.kolada import (
        kolada_groups_to_frames,
        kolada_kpis_to_frame,
        kolada_municipalities_to_frame,
        kolada_pages_to_observations,
    )
    from warehouse.connection import open_warehouse
    from warehouse.load import RefreshBatch, load_refresh

    raw_dir, run_id = Path(args["raw_dir"]), args["run_id"]
    store = RawStore(raw_dir)
    manifest, _ = _page_paths(raw_dir, run_id)
    kpis = kolada_kpis_to_frame(load_kpi_catalogue())
    areas = kolada_municipalities_to_frame(load_municipalities())
    groups, members = kolada_groups_to_frames(load_municipality_groups())
    years = args["years"]
    plan, _, digest = synthetic_plan(args["kpi_ids"][:MAX_PLAN_INDICATORS], years[-3], years[-1])
    frames = goal_plan_frames(plan, run_id=run_id, source_file="<generated>", content_hash=digest)
    known_series, known_areas = set(kpis["id"].to_list()), set(areas["id"].to_list())

    timings: dict[str, float] = {}
    started = time.perf_counter()
    pages = ((row["content_hash"], store.read_body(row["content_hash"])) for row in manifest)
    observations = kolada_pages_to_observations(pages)
    timings["transform_s"] = time.perf_counter() - started
    mark = time.perf_counter()
    check_observations(
        observations,
        known_series=known_series,
        known_areas=known_areas,
        years=(years[0], years[-1]),
    )
    timings["check_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    with open_warehouse(args["warehouse"]) as con:
        con.execute(f"SET threads = {int(args['threads'])}")
        con.execute(f"SET memory_limit = '{args['memory_limit']}'")
        counts = load_refresh(
            con,
            RefreshBatch(
                run_id=args.get("load_run_id", run_id),
                kpis=kpis,
                municipalities=areas,
                groups=groups,
                group_members=members,
                plan=frames,
                observations=observations,
                responses=manifest,
            ),
        )
        rows = con.execute("SELECT count(*) FROM core.observation").fetchone()[0]
    timings["load_s"] = time.perf_counter() - mark
    total = time.perf_counter() - started
    return {
        "observations": observations.height,
        "warehouse_rows": rows,
        "inserted": counts.inserted,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        "seconds": total,
        "obs_per_s": observations.height / total,
        **timings,
        "polars_threads": pl.thread_pool_size(),
    }


_PAGE_TYPE = (
    'STRUCT(kpi VARCHAR, municipality VARCHAR, period INTEGER, "values" STRUCT(gender VARCHAR,'
    " count INTEGER, status VARCHAR, value DOUBLE, isdeleted BOOLEAN)[])[]"
)
_BASELINE_TABLE = """
CREATE TABLE IF NOT EXISTS observation (
    source VARCHAR NOT NULL, series_id VARCHAR NOT NULL, municipality_id VARCHAR NOT NULL,
    year INTEGER NOT NULL, gender VARCHAR NOT NULL, value DOUBLE, count INTEGER,
    status VARCHAR, is_deleted BOOLEAN NOT NULL, table_id VARCHAR,
    source_updated TIMESTAMPTZ, response_hash VARCHAR NOT NULL, run_id VARCHAR NOT NULL
)
"""
_BASELINE_MERGE = """
MERGE INTO observation AS t
USING (
    WITH page AS (
        SELECT regexp_extract(filename, '([0-9a-f]{64})\\.json\\.gz$', 1) AS response_hash,
               unnest("values") AS r
        FROM read_json($files, columns = {"values": '@PAGE_TYPE@'}, filename = true,
                       format = 'unstructured')
    ), record AS (
        SELECT response_hash, r.kpi, r.municipality, r.period, unnest(r."values") AS v FROM page
    )
    SELECT 'kolada' AS source, kpi AS series_id, municipality AS municipality_id,
           period AS year, v.gender, v.value, v.count, nullif(v.status, '') AS status,
           coalesce(v.isdeleted, false) AS is_deleted, response_hash
    FROM record
) AS s
ON t.series_id = s.series_id AND t.municipality_id = s.municipality_id
   AND t.year = s.year AND t.gender = s.gender
WHEN MATCHED AND (t.value IS DISTINCT FROM s.value OR t.count IS DISTINCT FROM s.count
                  OR t.status IS DISTINCT FROM s.status
                  OR t.is_deleted IS DISTINCT FROM s.is_deleted)
    THEN UPDATE SET value = s.value, count = s.count, status = s.status,
                    is_deleted = s.is_deleted, response_hash = s.response_hash,
                    run_id = $run_id
WHEN NOT MATCHED THEN INSERT (source, series_id, municipality_id, year, gender, value, count,
                              status, is_deleted, response_hash, run_id)
    VALUES (s.source, s.series_id, s.municipality_id, s.year, s.gender, s.value, s.count,
            s.status, s.is_deleted, s.response_hash, $run_id)
""".replace("@PAGE_TYPE@", _PAGE_TYPE)


def duckdb_baseline(args: dict[str, Any]) -> dict[str, Any]:
    import duckdb

    _, paths = _page_paths(Path(args["raw_dir"]), args["run_id"])
    con = duckdb.connect(args["warehouse"])
    con.execute(f"SET threads = {int(args['threads'])}")
    con.execute(f"SET memory_limit = '{args['memory_limit']}'")
    started = time.perf_counter()
    con.begin()
    con.execute(_BASELINE_TABLE)
    run_id = args.get("run_id_override", args["run_id"])
    merged = con.execute(_BASELINE_MERGE, {"files": paths, "run_id": run_id}).fetchone()
    con.commit()
    total = time.perf_counter() - started
    rows = con.execute("SELECT count(*) FROM observation").fetchone()[0]
    con.close()
    return {
        "observations": rows,
        "merged": merged[0] if merged else None,
        "seconds": total,
        "obs_per_s": rows / total,
    }


def main() -> None:
    from benchmarks.measure import emit

    args = json.loads(sys.argv[1])
    workload = {"malbild": malbild, "duckdb": duckdb_baseline}[args["workload"]]
    emit(workload(args))


if __name__ == "__main__":
    main()
