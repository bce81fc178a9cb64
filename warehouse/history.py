"""Every version of the current tables, written in the load's own transaction.

`core.<table>_history` holds each version with `valid_from` (the load's time: the
batch's ``loaded_at``) and `valid_to` (null while current); sql/marts/as_of/ reads them
"as known at" a moment. Observations are versioned from the rows the load itself
wrote (the merge stamps them with the run id), so the cost follows the changes; the
catalogue and plan tables are small and are compared whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from transforms.schema import OBSERVATION_KEY

# Stamps of who wrote a row, not what it says: a new run id alone is no new version.
NOT_COMPARED = ("run_id", "loaded_at")


@dataclass(frozen=True)
class ObservationVersions:
    """What one load changed in core.observation: new values, revisions, deletions."""

    new: int = 0
    revised: int = 0
    deleted: int = 0


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    return [row[0] for row in rows]


def sync_table_history(con: duckdb.DuckDBPyConnection, table: str, at: datetime) -> tuple[int, int]:
    """Close the versions of ``table`` that no longer hold, open those that are new, at
    ``at``. Returns (closed, opened). Run inside the load's transaction, after its writes.
    """
    compared = [c for c in _columns(con, table) if c not in NOT_COMPARED]
    same = " AND ".join(f"h.{c} IS NOT DISTINCT FROM t.{c}" for c in compared)
    closed = con.execute(
        f"""
        UPDATE {table}_history AS h SET valid_to = $at
        WHERE h.valid_to IS NULL AND NOT EXISTS (SELECT 1 FROM {table} AS t WHERE {same})
        """,
        {"at": at},
    ).fetchone()
    opened = con.execute(
        f"""
        INSERT INTO {table}_history
        SELECT t.*, $at, NULL FROM {table} AS t
        WHERE NOT EXISTS (
            SELECT 1 FROM {table}_history AS h WHERE h.valid_to IS NULL AND {same}
        )
        """,
        {"at": at},
    ).fetchone()
    return (int(closed[0]) if closed else 0, int(opened[0]) if opened else 0)


def record_observation_versions(
    con: duckdb.DuckDBPyConnection, run_id: str, at: datetime
) -> ObservationVersions:
    """Version the observations this run inserted or changed, then drop its deletions
    from core.observation (they stay in the history, flagged).

    The merge gave exactly those rows this run's id, so only they are read; the open
    versions they replace are found through their keys.
    """
    on = " AND ".join(f"h.{c} = o.{c}" for c in OBSERVATION_KEY)
    key = ", ".join(OBSERVATION_KEY)
    params = {"run_id": run_id, "at": at}
    con.execute(
        f"""
        INSERT INTO core.observation_history
        SELECT
            o.*,
            $at,
            NULL,
            CASE WHEN o.is_deleted THEN 'deleted' WHEN h.series_id IS NULL THEN 'new'
                ELSE 'revised' END
        FROM core.observation AS o
        LEFT JOIN (
            SELECT {key}
            FROM core.observation_history
            WHERE valid_to IS NULL
        ) AS h ON {on}
        WHERE o.run_id = $run_id
        """,
        params,
    )
    found = con.execute(
        """
        SELECT
            count(*) FILTER (WHERE change = 'new'),
            count(*) FILTER (WHERE change = 'revised'),
            count(*) FILTER (WHERE change = 'deleted')
        FROM core.observation_history
        WHERE run_id = $run_id AND valid_from = $at
        """,
        params,
    ).fetchone()
    versions = ObservationVersions(*(int(n) for n in found)) if found else ObservationVersions()
    if versions.revised or versions.deleted:
        # Close the versions replaced: found through the keys of this load's revisions
        # and deletions only (a first load of millions of rows has none to close).
        con.execute(
            f"""
            UPDATE core.observation_history AS h SET valid_to = $at
            FROM (
                SELECT {key}
                FROM core.observation_history
                WHERE run_id = $run_id AND valid_from = $at AND change <> 'new'
            ) AS o
            WHERE h.valid_to IS NULL AND h.valid_from < $at AND {on}
            """,
            params,
        )
    if versions.deleted:
        con.execute(
            "DELETE FROM core.observation WHERE run_id = $run_id AND is_deleted",
            {"run_id": run_id},
        )
    return versions
