"""Which Kolada requests cover a plan, and how they split (pure: no I/O).

Kolada takes at most 25 ids per list, so the fewest all-area data queries are
⌈KPIs / 25⌉ × ⌈years / 25⌉, with the batches made as even as possible.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sources.kolada import settings

T = TypeVar("T")


@dataclass(frozen=True)
class DataQuery:
    """One data request for every area: up to 25 KPIs × up to 25 years."""

    kpi_ids: tuple[str, ...]
    years: tuple[int, ...]

    @property
    def path(self) -> str:
        return f"/data/kpi/{','.join(self.kpi_ids)}/year/{','.join(map(str, self.years))}"


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
