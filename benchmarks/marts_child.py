"""Section 5 in its own process: the two marts for one municipality and year, run twice."""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def mart_queries(args: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.goal_plans import PLAN_ID
    from warehouse import queries
    from warehouse.connection import open_warehouse

    result: dict[str, Any] = {}
    with open_warehouse(args["warehouse"], read_only=True) as con:
        con.execute(f"SET threads = {int(args['threads'])}")
        for name in ("goal_summary", "goal_indicator_status"):
            query = getattr(queries, f"read_{name}")
            timings = []
            for _ in range(2):
                started = time.perf_counter()
                rows = query(con, PLAN_ID, municipality_id=args["municipality"], year=args["year"])
                timings.append(time.perf_counter() - started)
            result[name] = {"first_s": timings[0], "second_s": timings[1], "rows": rows.height}
    return result


def main() -> None:
    from benchmarks.measure import emit

    emit(mart_queries(json.loads(sys.argv[1])))


if __name__ == "__main__":
    main()
