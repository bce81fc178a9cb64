"""Prefect's own start-up: import it and run a flow that does nothing, in a fresh process."""

from __future__ import annotations

import time

STARTED = time.perf_counter()


def main() -> None:
    from prefect import flow

    from benchmarks.measure import emit

    imported = time.perf_counter() - STARTED

    @flow(name="benchmark-noop")
    def noop() -> int:
        return 1

    mark = time.perf_counter()
    noop()
    emit(
        {
            "import_s": imported,
            "first_flow_run_s": time.perf_counter() - mark,
            "seconds": time.perf_counter() - STARTED,
        }
    )


if __name__ == "__main__":
    main()
