"""Section 6's peer: the same Kolada data fetched and loaded by dlt's REST API source.

Runs in benchmarks/.venv (dlt is never a malbild dependency), with dlt's defaults:
`python -m benchmarks.dlt_peer ARGS_JSON` under that interpreter.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def dlt_fetch_load(args: dict[str, Any]) -> dict[str, Any]:
    import dlt
    from dlt.sources.rest_api import rest_api_source

    source = rest_api_source(
        {
            "client": {
                "base_url": args["kolada_url"] + "/",
                # Kolada's envelope: {"values": [...], "next_url": "...", ...}
                "paginator": {"type": "json_link", "next_url_path": "next_url"},
            },
            "resources": [
                {
                    "name": f"data_{number}",
                    "table_name": "kolada_data",
                    "endpoint": {
                        "path": path.lstrip("/"),
                        "params": {"per_page": 5000},
                        "data_selector": "values",
                    },
                }
                for number, path in enumerate(args["paths"])
            ],
        }
    )
    pipeline = dlt.pipeline(
        pipeline_name="kolada_peer",
        pipelines_dir=args["pipelines_dir"],
        destination=dlt.destinations.duckdb(args["warehouse"]),
        dataset_name="kolada",
    )
    # pipeline.run(source) in its three steps, timed one by one.
    phases: dict[str, float] = {}
    started = time.perf_counter()
    for name, step in (
        ("extract_s", lambda: pipeline.extract(source)),
        ("normalize_s", pipeline.normalize),
        ("load_s", pipeline.load),
    ):
        mark = time.perf_counter()
        step()
        phases[name] = time.perf_counter() - mark
    seconds = time.perf_counter() - started
    import duckdb

    with duckdb.connect(args["warehouse"], read_only=True) as con:
        values = con.execute("SELECT count(*) FROM kolada.kolada_data__values").fetchone()
    return {
        "seconds": seconds,
        "observations": values[0] if values else 0,
        "dlt_version": dlt.__version__,
        **phases,
    }


def main() -> None:
    from benchmarks.measure import emit

    emit(dlt_fetch_load(json.loads(sys.argv[1])))


if __name__ == "__main__":
    main()
