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
            query = getattr(queries, name)
            timings = []
            for _ in range(2):
                started = time.perf_counter()
                rows = query(con, PLAN_ID, municipality_id=args["municipality"], year=args["year"])
                timings.append(time.perf_counter() - started)
            result[name] = {"first_s": timings[0], "second_s": timings[1], "rows": rows.height}
        result["materialised"] = _materialised(con, args)
    return result


def _materialised(con: Any, args: dict[str, Any]) -> dict[str, Any]:
    """What materialising the marts at load time would cost and give (temp tables only)."""
    from benchmarks.goal_plans import PLAN_ID

    found: dict[str, Any] = {}
    for name in ("goal_indicator_status", "goal_summary"):
        started = time.perf_counter()
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM mart.{name}")
        build = time.perf_counter() - started
        query = (
            f"SELECT * FROM temp.{name} WHERE plan_id = $plan AND municipality_id = $area"
            " AND year = $year"
        )
        params = {"plan": PLAN_ID, "area": args["municipality"], "year": args["year"]}
        con.execute(query, params).fetchall()
        started = time.perf_counter()
        con.execute(query, params).fetchall()
        found[name] = {"build_s": build, "query_s": time.perf_counter() - started}
    return found


def main() -> None:
    from benchmarks.measure import emit

    emit(mart_queries(json.loads(sys.argv[1])))


if __name__ == "__main__":
    main()
