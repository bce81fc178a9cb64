"""Digests of a warehouse's data, to show that a change of code left its content alone.

Run ids, timestamps and response hashes differ between any two runs; everything else
(values to ten significant digits, ranks, colours, statuses, run-log counts and warnings)
is compared.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

# relation -> (columns compared, ORDER BY). Stamps that differ between runs are left out.
DIGESTED: dict[str, tuple[str, str]] = {
    "mart.goal_indicator_status": ("* EXCLUDE (source, peer_members_since)", "ALL"),
    "mart.goal_summary": ("*", "ALL"),
    "core.observation": ("* EXCLUDE (run_id, response_hash)", "ALL"),
    "core.goal_indicator": ("*", "ALL"),
    "core.series": ("* EXCLUDE (attribution)", "ALL"),
    "core.run": (
        "kind, plan_id, status, requests_made, rows_inserted, rows_updated, rows_unchanged,"
        " warnings",
        "ALL",
    ),
}


def warehouse_digest(path: Path) -> dict[str, dict[str, object]]:
    """Row count and an order-independent md5 of every digested relation."""
    digest: dict[str, dict[str, object]] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for relation, (columns, order) in DIGESTED.items():
            rows = con.execute(f"SELECT {columns} FROM {relation} ORDER BY {order}").fetchall()
            text = "\n".join(repr(tuple(map(_stable, row))) for row in rows)
            digest[relation] = {
                "rows": len(rows),
                "md5": hashlib.md5(text.encode("utf-8")).hexdigest(),
            }
    return digest


def _stable(value: object) -> object:
    # A mean summed in another order differs in the last bits; ten digits do not.
    return f"{value:.10g}" if isinstance(value, float) else value


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(warehouse_digest(Path(sys.argv[1])), indent=2))
