"""Which Kolada requests cover a plan, and how they split (pure: no I/O).

Kolada takes at most 25 ids per list, so the fewest all-area data queries are
⌈KPIs / 25⌉ × ⌈years / 25⌉, with the batches made as even as possible.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sources.kolada import settings

T = TypeVar("T")


@dataclass(frozen=True)
class DataQuery:
    """One data request for every area: up to 25 KPIs × up to 25 years; with
    ``from_date``, only the values changed since that day (deleted ones flagged)."""

    kpi_ids: tuple[str, ...]
    years: tuple[int, ...]
    from_date: date | None = None

    @property
    def path(self) -> str:
        return f"/data/kpi/{','.join(self.kpi_ids)}/year/{','.join(map(str, self.years))}"

    @property
    def params(self) -> dict[str, str]:
        """The query's parameters besides paging."""
        return {"from_date": self.from_date.isoformat()} if self.from_date else {}


def plan_data_queries(
    kpi_ids: Iterable[str],
    years: Iterable[int],
    *,
    max_ids: int = settings.MAX_IDS_PER_REQUEST,
) -> list[DataQuery]:
    """The fewest all-area data queries covering every KPI × year, ≤ ``max_ids`` of each."""
    kpis = unique_ids(kpi_ids)
    unique_years = sorted({_year(y) for y in years})
    return [
        DataQuery(kpi_batch, year_batch)
        for kpi_batch in batches(kpis, max_ids)
        for year_batch in batches(unique_years, max_ids)
    ]


def plan_incremental_queries(
    kpi_ids: Iterable[str],
    years: Iterable[int],
    since: Callable[[str, int], date | None],
    *,
    max_ids: int = settings.MAX_IDS_PER_REQUEST,
) -> list[DataQuery]:
    """The fewest queries asking each KPI × year only for what changed ``since`` it (None:
    everything). KPIs × years with the same date and the same years share queries, so a
    plan refreshed as a whole asks as many queries as a full refresh, each with its
    from_date, and a new KPI or year is asked in full in queries of its own."""
    kpis = unique_ids(kpi_ids)
    unique_years = sorted({_year(y) for y in years})
    by_date: dict[date | None, dict[str, list[int]]] = {}
    for kpi in kpis:
        for year in unique_years:
            by_date.setdefault(since(kpi, year), {}).setdefault(kpi, []).append(year)
    queries = []
    for from_date in sorted(by_date, key=lambda day: (day is not None, day or date.min)):
        by_years: dict[tuple[int, ...], list[str]] = {}
        for kpi, kpi_years in by_date[from_date].items():
            by_years.setdefault(tuple(kpi_years), []).append(kpi)
        for year_list, kpi_list in by_years.items():
            queries += [
                DataQuery(query.kpi_ids, query.years, from_date)
                for query in plan_data_queries(kpi_list, year_list, max_ids=max_ids)
            ]
    return queries


def missing_ids(
    asked: Iterable[str], records: Iterable[dict[str, Any]], *, key: str = "id"
) -> list[str]:
    """The asked ids that no record carries in ``key``, in the order asked.

    Kolada answers unknown ids with HTTP 200 and no values, so callers must check.
    """
    found = {record.get(key) for record in records}
    return [id_ for id_ in unique_ids(asked) if id_ not in found]


def unique_ids(ids: Iterable[str]) -> list[str]:
    """The ids once each, in order; ValueError on anything that cannot be a Kolada id."""
    if isinstance(ids, str):
        ids = [ids]
    unique: dict[str, None] = {}
    for id_ in ids:
        if not isinstance(id_, str) or not id_ or any(c in id_ for c in ",/?#& "):
            raise ValueError(f"not a Kolada id: {id_!r}")
        unique[id_] = None
    return list(unique)


def batches(items: Sequence[T], size: int) -> list[tuple[T, ...]]:
    """Split into the fewest batches of at most ``size``, as even as possible."""
    if not items:
        return []
    count = math.ceil(len(items) / size)
    per_batch = math.ceil(len(items) / count)
    return [tuple(items[i : i + per_batch]) for i in range(0, len(items), per_batch)]


def _year(year: int) -> int:
    if isinstance(year, bool) or not isinstance(year, int):
        raise ValueError(f"not a year: {year!r}")
    return year
