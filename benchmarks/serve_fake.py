"""Serve one fake API in this process (`python -m benchmarks.serve_fake kolada|scb LATENCY_S`).

Prints the base URL, then answers stdin commands: ``log`` prints the fake's own request
log as one JSON line; end of input stops the server. A process of its own keeps the
fake's work out of the measured client's GIL.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    kind, latency = sys.argv[1], float(sys.argv[2])
    if kind == "kolada":
        from fakes.kolada_server import FakeKolada
        from fakes.sample_data import sample_kolada

        fake = FakeKolada(**sample_kolada(), latency=latency)

        def log() -> list[dict[str, object]]:
            return [
                {"method": r.method, "path": r.path, "query": r.query, "data": r.is_data}
                for r in fake.requests
            ]

    else:
        from fakes.scb_server import FakeScbServer

        # The live service's limits (docs/API-NOTES): 150,000 cells, 30 calls per 10 s.
        fake = FakeScbServer(max_data_cells=150_000, max_calls=30, window=10.0, latency=latency)

        def log() -> list[dict[str, object]]:
            return [
                {
                    "method": r.method,
                    "path": r.path,
                    "status": r.status,
                    "data": r.path.endswith("/data"),
                }
                for r in fake.requests()
            ]

    with fake:
        print(fake.base_url, flush=True)
        for line in sys.stdin:
            if line.strip() == "log":
                print(json.dumps(log()), flush=True)


if __name__ == "__main__":
    main()
