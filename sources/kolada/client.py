"""Kolada API v3 client: metadata lists, batched data queries and page-by-page fetching.

Plain requests through the shared ``HttpClient`` (throttling and retries live there).
Data pages are handed on as raw bytes so transforms can parse them with Polars.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urljoin

from sources.http import FetchError, HttpClient, IntervalLimiter, Response
from sources.kolada import settings


class KoladaResponseError(FetchError):
    """A Kolada answer that is not the expected JSON page, or a broken pagination."""


@dataclass(frozen=True)
class DataQuery:
    """One data request for every area: up to 25 KPIs × up to 25 years."""

    kpi_ids: tuple[str, ...]
    years: tuple[int, ...]

    @property
    def path(self) -> str:
        return f"/data/kpi/{','.join(self.kpi_ids)}/year/{','.join(map(str, self.years))}"


@dataclass(frozen=True)
class DataPage:
    """One fetched page of data records, body unparsed."""

    url: str
    content_hash: str
    body: bytes
    record_count: int


def plan_data_queries(
    kpi_ids: Iterable[str],
    years: Iterable[int],
    *,
    max_ids: int = settings.MAX_IDS_PER_REQUEST,
) -> list[DataQuery]:
    """The fewest all-area data queries covering every KPI × year, ≤ ``max_ids`` of each."""
    kpis = _unique_ids(kpi_ids)
    unique_years = sorted({_year(y) for y in years})
    return [
        DataQuery(kpi_batch, year_batch)
        for kpi_batch in _batches(kpis, max_ids)
        for year_batch in _batches(unique_years, max_ids)
    ]


def missing_ids(
    asked: Iterable[str], records: Iterable[dict[str, Any]], *, key: str = "id"
) -> list[str]:
    """The asked ids that no record carries in ``key``, in the order asked.

    Kolada answers unknown ids with HTTP 200 and no values, so callers must check.
    """
    found = {record.get(key) for record in records}
    return [id_ for id_ in _unique_ids(asked) if id_ not in found]


def kolada_http_client(
    *,
    rate_per_second: float | None = None,
    on_response: Callable[[Response], None] | None = None,
) -> HttpClient:
    """An ``HttpClient`` throttled for Kolada (``MALBILD_KOLADA_RATE`` or 5 requests/s)."""
    rate = rate_per_second if rate_per_second is not None else settings.rate_per_second()
    return HttpClient(limiter=IntervalLimiter(rate), on_response=on_response)


class KoladaClient:
    """Reads Kolada v3: the KPI catalogue, areas, area groups and data pages.

    ``rate_per_second`` (argument, else ``MALBILD_KOLADA_RATE``, else 5) throttles the
    client's own ``HttpClient``; a given ``http`` keeps its own limiter.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        http: HttpClient | None = None,
        rate_per_second: float | None = None,
        per_page: int = settings.PER_PAGE,
    ):
        if http is not None and rate_per_second is not None:
            raise ValueError(
                "give either http or rate_per_second: a given HttpClient keeps its limiter"
            )
        if not 1 <= per_page <= settings.PER_PAGE:
            raise ValueError(f"per_page must be 1..{settings.PER_PAGE}, got {per_page}")
        self.base_url = base_url.rstrip("/") if base_url else settings.base_url()
        self.rate_per_second = (
            rate_per_second if rate_per_second is not None else settings.rate_per_second()
        )
        self.http = (
            http if http is not None else kolada_http_client(rate_per_second=self.rate_per_second)
        )
        self.per_page = per_page

    def kpis(self, ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """KPI records: the whole catalogue, or the given ids (unknown ids are simply absent)."""
        if ids is None:
            return self._records("/kpi")
        return self._records_by_ids("/kpi", ids)

    def municipalities(self) -> list[dict[str, Any]]:
        """Every area: kommuner (type K), regions and Riket ``0000`` (type L)."""
        return self._records("/municipality")

    def municipality_groups(self) -> list[dict[str, Any]]:
        """Every area group with its members."""
        return self._records("/municipality_groups")

    def fetch_data(self, kpi_ids: Iterable[str], years: Iterable[int]) -> Iterator[DataPage]:
        """Every data page for these KPIs and years, all areas, in the fewest requests."""
        for query in plan_data_queries(kpi_ids, years):
            for response, values in self._pages(query.path):
                yield DataPage(
                    url=response.url,
                    content_hash=response.content_hash,
                    body=response.body,
                    record_count=len(values),
                )

    def _records_by_ids(self, path: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for batch in _batches(_unique_ids(ids), settings.MAX_IDS_PER_REQUEST):
            records.extend(self._records(f"{path}/{','.join(batch)}"))
        return records

    def _records(self, path: str) -> list[dict[str, Any]]:
        return [record for _, values in self._pages(path) for record in values]

    def _pages(self, path: str) -> Iterator[tuple[Response, list[dict[str, Any]]]]:
        """Follow ``next_url`` from the first page until null, an empty page or a repeat."""
        url: str = f"{self.base_url}{path}?per_page={self.per_page}"
        seen: set[str] = set()
        while True:
            seen.add(url)
            response = self.http.get(url)
            envelope = parse_page(response)
            values: list[dict[str, Any]] = envelope["values"]
            yield response, values
            next_url = envelope.get("next_url")
            if not values or not next_url:
                return
            following = urljoin(response.url, next_url)
            if following in seen:
                raise KoladaResponseError(
                    f"Kolada pagination loops: {response.url} points back to {following}, "
                    "which was already fetched",
                    url=response.url,
                    status=response.status,
                )
            url = following


def parse_page(response: Response) -> dict[str, Any]:
    """The JSON envelope ``{values, count, next_url, previous_url}`` of a Kolada answer."""

    def refuse(problem: str) -> KoladaResponseError:
        snippet = response.body[:200].decode("utf-8", errors="replace").strip()
        return KoladaResponseError(
            f"{response.method} {response.url} did not answer a Kolada JSON page "
            f"(HTTP {response.status}): {problem}; body starts {snippet!r}",
            url=response.url,
            status=response.status,
            body=response.body,
        )

    try:
        envelope = json.loads(response.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise refuse(f"not JSON ({exc})") from None
    if not isinstance(envelope, dict):
        raise refuse(f"JSON {type(envelope).__name__}, not an object")
    if "values" not in envelope:
        raise refuse(f"no 'values' (keys: {sorted(envelope)})")
    values = envelope["values"]
    if not isinstance(values, list):
        raise refuse(f"'values' is {type(values).__name__}, not a list")
    if not all(isinstance(record, dict) for record in values):
        raise refuse("'values' holds something other than records")
    next_url = envelope.get("next_url")
    if next_url is not None and not isinstance(next_url, str):
        raise refuse(f"'next_url' is {type(next_url).__name__}, not a string")
    return envelope


def _unique_ids(ids: Iterable[str]) -> list[str]:
    if isinstance(ids, str):
        ids = [ids]
    unique: dict[str, None] = {}
    for id_ in ids:
        if not isinstance(id_, str) or not id_ or any(c in id_ for c in ",/?#& "):
            raise ValueError(f"not a Kolada id: {id_!r}")
        unique[id_] = None
    return list(unique)


def _year(year: int) -> int:
    if isinstance(year, bool) or not isinstance(year, int):
        raise ValueError(f"not a year: {year!r}")
    return year


T = TypeVar("T")


def _batches(items: Sequence[T], size: int) -> list[tuple[T, ...]]:
    """Split into the fewest batches of at most ``size``, as even as possible."""
    if not items:
        return []
    count = math.ceil(len(items) / size)
    per_batch = math.ceil(len(items) / count)
    return [tuple(items[i : i + per_batch]) for i in range(0, len(items), per_batch)]
