"""Read helpers for flows and the CLI: SQL from sql/queries, results as Polars frames."""

from datetime import datetime
from functools import cache
from typing import Any

import duckdb
import polars as pl

from transforms.catalogue import Catalogue
from warehouse.migrations import sql_dir


@cache
def _query_text(name: str) -> str:
    return (sql_dir() / "queries" / f"{name}.sql").read_text(encoding="utf-8")


def _frame(
    con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None
) -> pl.DataFrame:
    return pl.DataFrame(con.sql(_query_text(name), params=params))


def read_catalogue(con: duckdb.DuckDBPyConnection) -> Catalogue | None:
    """The last loaded catalogue, or None when the warehouse has none yet."""
    kpis = _frame(con, "catalogue_kpis")
    municipalities = _frame(con, "catalogue_municipalities")
    if kpis.is_empty() or municipalities.is_empty():
        return None
    return Catalogue(
        kpis=kpis,
        municipalities=municipalities,
        groups=_frame(con, "catalogue_groups"),
        group_members=_frame(con, "catalogue_group_members"),
    )


def read_goal_summary(
    con: duckdb.DuckDBPyConnection,
    plan_id: str,
    municipality_id: str | None = None,
    year: int | None = None,
) -> pl.DataFrame:
    """mart.goal_summary rows of one plan, optionally one area and/or year."""
    params = {"plan_id": plan_id, "municipality_id": municipality_id, "year": year}
    return _frame(con, "goal_summary", params)


def read_goal_indicator_status(
    con: duckdb.DuckDBPyConnection,
    plan_id: str,
    municipality_id: str | None = None,
    year: int | None = None,
) -> pl.DataFrame:
    """mart.goal_indicator_status rows of one plan, optionally one area and/or year."""
    params = {"plan_id": plan_id, "municipality_id": municipality_id, "year": year}
    return _frame(con, "goal_indicator_status", params)


def read_runs(con: duckdb.DuckDBPyConnection, limit: int = 20) -> pl.DataFrame:
    """The latest runs from core.run, newest first."""
    return _frame(con, "runs", {"limit": limit})


def read_responses_for_run(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    """raw.response rows of one run."""
    return _frame(con, "responses_for_run", {"run_id": run_id})


def read_series_with_values_in_year(
    con: duckdb.DuckDBPyConnection, series_ids: list[str], year: int
) -> set[str]:
    """The series among ``series_ids`` that have a value in ``year``."""
    frame = _frame(con, "series_with_values_in_year", {"series_ids": series_ids, "year": year})
    return set(frame["series_id"].to_list())


def read_fetch_state(con: duckdb.DuckDBPyConnection, series_ids: list[str]) -> pl.DataFrame:
    """core.fetch_state rows of these series: what earlier refreshes fetched, and when."""
    return _frame(con, "fetch_state", {"series_ids": series_ids})


def read_current_observations(
    con: duckdb.DuckDBPyConnection, series_ids: list[str]
) -> pl.DataFrame:
    """core.observation rows of these series (OBSERVATION_SCHEMA's columns)."""
    return _frame(con, "current_observations", {"series_ids": series_ids})


def read_series_coverage(
    con: duckdb.DuckDBPyConnection,
    series_ids: list[str],
    municipality_id: str,
    years: tuple[int, int],
) -> dict[str, bool]:
    """Series with a value in the years → whether the area has one of them."""
    params = {
        "series_ids": series_ids,
        "municipality_id": municipality_id,
        "first_year": years[0],
        "last_year": years[1],
    }
    frame = _frame(con, "series_coverage", params)
    return dict(zip(frame["series_id"].to_list(), frame["focus"].to_list(), strict=True))


def read_changes(
    con: duckdb.DuckDBPyConnection, plan_id: str, municipality_id: str, since: datetime
) -> pl.DataFrame:
    """Per indicator and year of the plan's area: what changed between ``since`` and now
    (value, rank, colour, target), from the marts as known then and now."""
    params = {"plan_id": plan_id, "municipality_id": municipality_id, "since": since}
    return _frame(con, "changes", params)


def read_goal_changes(
    con: duckdb.DuckDBPyConnection, plan_id: str, municipality_id: str, since: datetime
) -> pl.DataFrame:
    """The plan's goals whose status for its area changed between ``since`` and now."""
    params = {"plan_id": plan_id, "municipality_id": municipality_id, "since": since}
    return _frame(con, "goal_changes", params)


def read_definition_changes(
    con: duckdb.DuckDBPyConnection, since: datetime, plan_id: str | None = None
) -> pl.DataFrame:
    """KPI definition and group membership changes since ``since`` that a plan uses."""
    return _frame(con, "definition_changes", {"since": since, "plan_id": plan_id})


def warehouse_now(con: duckdb.DuckDBPyConnection) -> datetime:
    """The warehouse's clock: versions loaded after this moment are later than it."""
    found = con.execute("SELECT now()").fetchone()
    assert found is not None
    return found[0]


def plan_loaded(con: duckdb.DuckDBPyConnection, plan_id: str) -> bool:
    """Whether the plan has been loaded before."""
    return bool(_frame(con, "plan_loaded", {"plan_id": plan_id}).item())


def read_refresh_runs_of_plan(con: duckdb.DuckDBPyConnection, plan_key: str) -> pl.DataFrame:
    """The plan's succeeded refreshes, newest first (``plan_key``: the plan file's stem)."""
    return _frame(con, "refresh_runs_of_plan", {"plan_key": plan_key})


def read_runs_starting(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    """The runs whose id is, or starts with, ``run_id``."""
    return _frame(con, "run_by_id", {"run_id": run_id})


def run_committed(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    """Whether the run's load committed (its answers are in raw.response)."""
    return bool(_frame(con, "run_committed", {"run_id": run_id}).item())


def read_running_run_ids(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The ids of the runs the run log says are running."""
    return set(_frame(con, "running_runs")["run_id"].to_list())
