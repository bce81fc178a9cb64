"""Loading a refresh into the warehouse: one transaction, set-based merges, and the run log."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from transforms.schema import OBSERVATION_KEY, OBSERVATION_SCHEMA
from warehouse.history import record_observation_versions, sync_table_history
from warehouse.migrations import MARTS_STALE, rebuild_marts
from warehouse.records import record_fetch_state, record_responses
from warehouse.staged import parquet_rows as _parquet_rows
from warehouse.staged import staged as _staged
from warehouse.staged import staged_on_disk as _staged_on_disk
from warehouse.transaction import transaction, unordered

# Observation columns whose change makes a new version of the row; response_hash alone
# does not (an identical value fetched again keeps the run that first loaded it).
OBSERVATION_COMPARED = (
    "source",
    "value",
    "count",
    "status",
    "is_deleted",
    "table_id",
    "source_updated",
)

# Catalogue frame → table and key. Every other column is compared.
CATALOGUE_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "kpis": ("core.kpi", ("id",)),
    "municipalities": ("core.municipality", ("id",)),
    "groups": ("core.municipality_group", ("id",)),
    "group_members": ("core.municipality_group_member", ("group_id", "member_id")),
}

# Plan frames replaced per plan, in the order they are written.
PLAN_TABLES = ("goal_plan", "goal", "goal_indicator")


@dataclass
class RefreshBatch:
    """Everything one refresh writes; a frame left as None leaves its table unchanged."""

    run_id: str
    kpis: pl.DataFrame | None = None
    municipalities: pl.DataFrame | None = None
    groups: pl.DataFrame | None = None
    group_members: pl.DataFrame | None = None
    # goal_plan, goal, goal_indicator, series (transforms.goal_plan.goal_plan_frames)
    plan: Mapping[str, pl.DataFrame] | None = None
    # Observations as a frame (small loads, tests) or as staged Parquet files in
    # OBSERVATION_SCHEMA (a refresh: DuckDB reads them, they are never all in memory).
    observations: pl.DataFrame | None = None
    observation_files: Sequence[Path] = ()
    # Generated sample values (malbild demo): every observation is loaded with source
    # 'sample', whatever source served it.
    sample_data: bool = False
    # raw landing manifest lines for raw.response
    responses: Sequence[Mapping[str, Any]] = ()
    # What was fetched, per source, series and year (records.FETCH_STATE_SCHEMA): the next
    # refresh asks only for what changed since (core.fetch_state).
    fetch_state: pl.DataFrame | None = None
    # When the versions it writes count from (core.*_history.valid_from): None is the
    # load's own time; a rebuild gives the replayed run's, so history and as-of hold.
    loaded_at: datetime | None = None


@dataclass(frozen=True)
class LoadCounts:
    """Observation rows inserted, updated (revised), left unchanged and deleted (Kolada's
    isdeleted: gone from core.observation, kept in its history); per table in `tables`."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    tables: Mapping[str, "LoadCounts"] = field(default_factory=dict, compare=False)

    def __add__(self, other: "LoadCounts") -> "LoadCounts":
        tables = dict(self.tables)
        for name, counts in other.tables.items():
            tables[name] = tables[name] + counts if name in tables else counts
        return LoadCounts(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.deleted + other.deleted,
            tables=tables,
        )

    @property
    def changed(self) -> bool:
        """Whether the load added, revised or deleted any observation."""
        return bool(self.inserted or self.updated or self.deleted)


def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, name],
    ).fetchall()
    return [row[0] for row in rows]


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _merge(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pl.DataFrame,
    key: Sequence[str],
    run_id: str,
) -> LoadCounts:
    """Upsert a (small) frame into table on key; rows that differ get the new run_id."""
    columns = [c for c in _table_columns(con, table) if c != "run_id"]
    missing = sorted(set(columns) - set(frame.columns))
    if missing:
        raise ValueError(f"{table}: the frame lacks columns {missing}")
    with _staged(con, "staged_rows", frame.select(columns)) as staged:
        return _merge_rows(con, table, staged, frame.height, key, run_id)


def _merge_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    staged: str,
    rows: int,
    key: Sequence[str],
    run_id: str,
    *,
    compared: Sequence[str] | None = None,
    insert_if: str = "true",
) -> LoadCounts:
    """Upsert the ``rows`` of relation ``staged`` into table on key; only rows that differ
    (null-safe, in ``compared`` or else every column) get the new run_id. A staged row
    with no match is inserted only where the SQL condition ``insert_if`` (on ``s``) holds;
    the others count as unchanged."""
    columns = [c for c in _table_columns(con, table) if c != "run_id"]
    compared = [c for c in columns if c not in key] if compared is None else list(compared)
    updated_columns = [c for c in columns if c not in key]
    on = " AND ".join(f"t.{c} = s.{c}" for c in key)
    changed = " OR ".join(f"t.{c} IS DISTINCT FROM s.{c}" for c in compared) or "false"
    assignments = ", ".join([*(f"{c} = s.{c}" for c in updated_columns), "run_id = $run_id"])
    insert_columns = ", ".join([*columns, "run_id"])
    insert_values = ", ".join([*(f"s.{c}" for c in columns), "$run_id"])
    before = _count(con, table)
    if before == 0:
        # A first load: a plain insert is twice as fast as a merge with nothing to match.
        con.execute(
            f"INSERT INTO {table} ({insert_columns})"
            f" SELECT {insert_values} FROM {staged} AS s WHERE {insert_if}",
            {"run_id": run_id},
        )
        inserted = _count(con, table)
        return LoadCounts(inserted, 0, rows - inserted)
    row = con.execute(
        f"""
        MERGE INTO {table} AS t
        USING {staged} AS s
        ON ({on})
        WHEN MATCHED AND ({changed}) THEN UPDATE SET {assignments}
        WHEN NOT MATCHED AND ({insert_if}) THEN INSERT ({insert_columns}) VALUES ({insert_values})
        """,
        {"run_id": run_id},
    ).fetchone()
    affected = int(row[0]) if row else 0
    inserted = _count(con, table) - before
    updated = affected - inserted
    return LoadCounts(inserted, updated, rows - inserted - updated)


def _load_catalogue(
    con: duckdb.DuckDBPyConnection, batch: RefreshBatch
) -> tuple[dict[str, LoadCounts], int]:
    """Merge the catalogue tables and version them; also return how many departed group
    members went."""
    counts = {}
    departed = 0
    for attribute, (table, key) in CATALOGUE_TABLES.items():
        frame: pl.DataFrame | None = getattr(batch, attribute)
        if frame is None:
            continue
        counts[table] = _merge(con, table, frame, key, batch.run_id)
        if attribute == "group_members":
            departed = _drop_departed_members(con, frame)
        sync_table_history(con, table, _loaded_at(batch))
    return counts, departed


def _drop_departed_members(con: duckdb.DuckDBPyConnection, members: pl.DataFrame) -> int:
    """A group in the batch has exactly the batch's members: remove those no longer listed."""
    with _staged(con, "staged_members", members.select("group_id", "member_id")) as staged:
        deleted = con.execute(
            f"""
            DELETE FROM core.municipality_group_member AS t
            WHERE t.group_id IN (SELECT group_id FROM {staged})
              AND NOT EXISTS (
                  SELECT 1 FROM {staged} AS s
                  WHERE s.group_id = t.group_id AND s.member_id = t.member_id
              )
            """
        ).fetchone()
    return int(deleted[0]) if deleted else 0


def _load_plan(con: duckdb.DuckDBPyConnection, batch: RefreshBatch) -> bool:
    """Replace every row of the batch's plans; upsert the series they declare.

    A plan loaded again unchanged keeps its rows (and the run id that first loaded it),
    so a repeated refresh changes no data table.
    """
    if not batch.plan or _plan_unchanged(con, batch.plan):
        return False
    plans = batch.plan["goal_plan"]
    plan_ids = plans["plan_id"].to_list()
    for name in reversed(PLAN_TABLES):
        con.execute(
            f"DELETE FROM core.{name} WHERE plan_id IN (SELECT unnest($ids))", {"ids": plan_ids}
        )
    for name in PLAN_TABLES:
        frame = batch.plan.get(name)
        if frame is None or frame.is_empty():
            continue
        if name == "goal_plan":
            frame = frame.with_columns(run_id=pl.lit(batch.run_id))
        with _staged(con, f"staged_{name}", frame) as staged:
            con.execute(f"INSERT INTO core.{name} BY NAME SELECT * FROM {staged}")
    series = batch.plan.get("series")
    if series is not None and not series.is_empty():
        with _staged(con, "staged_series", series) as staged:
            con.execute(
                f"DELETE FROM core.series WHERE series_id IN (SELECT series_id FROM {staged})"
            )
            con.execute(f"INSERT INTO core.series BY NAME SELECT * FROM {staged}")
    for table in (*(f"core.{name}" for name in PLAN_TABLES), "core.series"):
        sync_table_history(con, table, _loaded_at(batch))
    return True


def _plan_unchanged(con: duckdb.DuckDBPyConnection, plan: Mapping[str, pl.DataFrame]) -> bool:
    """Whether the warehouse holds exactly these plan and series rows (bar run id and time)."""
    plan_ids = plan["goal_plan"]["plan_id"].to_list()
    for name in (*PLAN_TABLES, "series"):
        frame = plan.get(name)
        if frame is None:
            continue
        stamps = [c for c in ("run_id", "loaded_at") if c in frame.columns]
        compared = frame.drop(stamps)
        columns = ", ".join(compared.columns)
        scope = (
            "series_id IN (SELECT series_id FROM {staged})"
            if name == "series"
            else "plan_id IN (SELECT unnest($ids))"
        )
        with _staged(con, f"compared_{name}", compared) as staged:
            differing = con.execute(
                f"""
                SELECT count(*) FROM (
                    (SELECT {columns} FROM {staged}
                     EXCEPT SELECT {columns} FROM core.{name} WHERE {scope.format(staged=staged)})
                    UNION ALL
                    (SELECT {columns} FROM core.{name} WHERE {scope.format(staged=staged)}
                     EXCEPT SELECT {columns} FROM {staged})
                )
                """,
                {"ids": plan_ids} if name != "series" else {},
            ).fetchone()
        if differing is None or differing[0] > 0:
            return False
    return True


def _merge_observations(con: duckdb.DuckDBPyConnection, batch: RefreshBatch) -> LoadCounts:
    """Merge the batch's observations (frame or staged files), then check the key."""
    replace = "REPLACE ('sample' AS source)" if batch.sample_data else ""
    if batch.observation_files:
        staging = _parquet_rows(con, batch.observation_files, replace=replace)
    elif batch.observations is not None:
        frame = batch.observations.select(list(OBSERVATION_SCHEMA))
        staging = _staged_on_disk(con, frame.cast(OBSERVATION_SCHEMA), replace=replace)  # type: ignore[arg-type]
    else:
        return LoadCounts()
    with staging as staged:
        found = con.execute(f"SELECT count(*) FROM {staged}").fetchone()
        rows = int(found[0]) if found else 0
        if _count(con, "core.observation") == 0 and _count(con, "core.observation_history") == 0:
            return _first_load(con, batch, staged, rows)
        counts = _merge_rows(
            con,
            "core.observation",
            staged,
            rows,
            OBSERVATION_KEY,
            batch.run_id,
            compared=OBSERVATION_COMPARED,
            # A deletion of a value the warehouse does not hold changes nothing.
            insert_if="NOT s.is_deleted",
        )
    if counts.inserted:
        _check_unique_observations(con, batch.run_id)
    versions = record_observation_versions(con, batch.run_id, _loaded_at(batch))
    return LoadCounts(
        counts.inserted, counts.updated - versions.deleted, counts.unchanged, versions.deleted
    )


def _first_load(
    con: duckdb.DuckDBPyConnection, batch: RefreshBatch, staged: str, rows: int
) -> LoadCounts:
    """Into an empty warehouse: every row is new, and its first version is written from
    the staged files too (reading back rows this transaction just wrote took DuckDB
    11 s of a 24 s load of 5 M observations)."""
    columns = ", ".join(OBSERVATION_SCHEMA)
    params = {"run_id": batch.run_id, "at": _loaded_at(batch)}
    with unordered(con):
        con.execute(
            f"INSERT INTO core.observation ({columns}, run_id)"
            f" SELECT {columns}, $run_id FROM {staged} WHERE NOT is_deleted",
            {"run_id": batch.run_id},
        )
        inserted = _count(con, "core.observation")
        if inserted:
            _check_unique_observations(con, batch.run_id)
        con.execute(
            f"INSERT INTO core.observation_history ({columns}, run_id, valid_from, valid_to,"
            f" change) SELECT {columns}, $run_id, $at, NULL, 'new' FROM {staged}"
            " WHERE NOT is_deleted",
            params,
        )
    return LoadCounts(inserted, 0, rows - inserted)


def _raise_clash(clash: tuple[Any, ...]) -> None:
    key = ", ".join(OBSERVATION_KEY)
    raise ValueError(
        f"observations: the batch has {clash[-1]} rows for one key {clash[:-1]}"
        f" ({key}); a refresh must have one row per key"
    )


def _check_unique_observations(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Stand-in for a primary key (see sql/migrations/003): only this run's rows can clash."""
    key = ", ".join(OBSERVATION_KEY)
    # Distinct key hashes as many as rows proves the keys unique; it is 4x cheaper than
    # grouping by the key, which runs only to name the clash (or a hash collision).
    unique = con.execute(
        f"SELECT count(*) = count(DISTINCT hash({key})) FROM core.observation"
        " WHERE run_id = $run_id",
        {"run_id": run_id},
    ).fetchone()
    if unique and unique[0]:
        return
    clash = con.execute(
        f"""
        SELECT {key}, count(*) AS n
        FROM core.observation
        WHERE run_id = $run_id
        GROUP BY {key}
        HAVING count(*) > 1
        LIMIT 1
        """,
        {"run_id": run_id},
    ).fetchone()
    if clash:
        _raise_clash(tuple(clash))


def _record_responses(con: duckdb.DuckDBPyConnection, batch: RefreshBatch) -> None:
    """Append the run's manifest lines to raw.response, skipping lines already there."""
    record_responses(con, batch.run_id, batch.responses)


def _record_fetch_state(con: duckdb.DuckDBPyConnection, batch: RefreshBatch) -> None:
    """Remember what this run fetched (replacing what an earlier run fetched of the same)."""
    record_fetch_state(con, batch.run_id, batch.fetch_state)


def _loaded_at(batch: RefreshBatch) -> datetime:
    if batch.loaded_at is None:
        batch.loaded_at = datetime.now(UTC)
    return batch.loaded_at


def load_refresh(con: duckdb.DuckDBPyConnection, batch: RefreshBatch) -> LoadCounts:
    """Write a refresh in one transaction: catalogue, plan, observations and responses.

    When the load changed anything, the marts are then rebuilt in a second transaction.
    Building them inside the first made a national load 2.5 times slower (DuckDB reads
    uncommitted rows slowly), and they are derived data: the first transaction marks
    them stale, the second rebuilds them and clears the mark. Should the second fail,
    the data stays loaded, the error is raised as MartsStaleError, and the next writable
    open rebuilds the marts.
    """
    _loaded_at(batch)  # the versions' time, fixed before anything is written
    with transaction(con):
        tables, departed = _load_catalogue(con, batch)
        plan_replaced = _load_plan(con, batch)
        observations = _merge_observations(con, batch)
        _record_responses(con, batch)
        _record_fetch_state(con, batch)
        tables["core.observation"] = observations
        changed = plan_replaced or departed > 0 or any(table.changed for table in tables.values())
        if changed:
            con.execute(
                "INSERT OR REPLACE INTO core.warehouse_info (key, value) VALUES (?, ?)",
                [MARTS_STALE, batch.run_id],
            )
    counts = LoadCounts(
        observations.inserted,
        observations.updated,
        observations.unchanged,
        observations.deleted,
        tables=tables,
    )
    if not changed:
        return counts  # the marts already show exactly this data
    try:
        with transaction(con):
            rebuild_marts(con)
    except Exception as exc:
        raise MartsStaleError(
            f"the data of run {batch.run_id} is loaded, but the marts could not be rebuilt "
            f"({type(exc).__name__}: {exc}); they will be rebuilt when the warehouse is next "
            "opened for writing",
            counts,
        ) from exc
    return counts


class MartsStaleError(RuntimeError):
    """The data is loaded but the marts are not rebuilt yet (the next writable open does it)."""

    def __init__(self, message: str, counts: LoadCounts):
        super().__init__(message)
        self.counts = counts
