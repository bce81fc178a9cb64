"""Section 6's peer: the same Kolada data fetched and loaded by dlt's REST API source.

Runs in benchmarks/.venv (dlt is never a malbild dependency), with dlt's defaults:
`python -m benchmarks.dlt_peer ARGS_JSON` under that interpreter. The one change: the
same throttle as malbild's Kolada client (``rate_per_second``: request starts evenly
spaced, as ``sources.http.IntervalLimiter`` does), on dlt's HTTP adapter, so every
attempt, retries included, waits its turn as malbild's do.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any


class Throttle:
    """At most ``rate`` starts per second, evenly spaced; thread-safe (malbild's rule)."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


def throttled_session(rate: float) -> Any:
    """dlt's default REST client session, its HTTP adapter throttled."""
    from dlt.sources.helpers.requests.retry import Client

    session = Client(raise_for_status=False).session
    throttle = Throttle(rate)
    # dlt mounts one adapter for http:// and https://: throttle each adapter once.
    adapters = {id(a): a for a in (session.get_adapter(p) for p in ("http://", "https://"))}
    for adapter in adapters.values():
        send = adapter.send

        def throttled_send(*args: Any, _send: Any = send, **kwargs: Any) -> Any:
            throttle.wait()
            return _send(*args, **kwargs)

        adapter.send = throttled_send
    return session


def dlt_fetch_load(args: dict[str, Any]) -> dict[str, Any]:
    import dlt
    from dlt.sources.rest_api import rest_api_source

    source = rest_api_source(
        {
            "client": {
                "base_url": args["kolada_url"] + "/",
                "session": throttled_session(args["rate_per_second"]),
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
        "rate_per_second": args["rate_per_second"],
        **phases,
    }


def main() -> None:
    from benchmarks.measure import emit

    emit(dlt_fetch_load(json.loads(sys.argv[1])))


if __name__ == "__main__":
    main()
