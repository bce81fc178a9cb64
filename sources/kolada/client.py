"""Kolada API v3 client: metadata lists, batched data queries and page-by-page fetching.

Plain requests through the shared ``HttpClient`` (throttling and retries live there);
which requests cover a plan is ``planning.py``'s. Every request is labelled with its
kind (``kpi``, ``municipality``, ``municipality_groups``, ``data``) for the raw landing.
Data pages are handed on as raw bytes so transforms can parse them with Polars.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode, urljoin, urlsplit

from sources.http import (
    FetchError,
    HttpClient,
    IntervalLimiter,
    Response,
    json_problem,
    unreadable_answer,
)
from sources.kolada import settings
from sources.kolada.planning import DataQuery, batches, plan_data_queries, unique_ids


class KoladaResponseError(FetchError):
    """A Kolada answer that is not the expected JSON page, or a broken pagination."""


T = TypeVar("T")

# Reads one answer once: what it holds, its next_url, how many records it has.
PageReader = Callable[[Response], tuple[T, str | None, int]]


@dataclass(frozen=True)
class DataPage(Generic[T]):
    """One fetched page of data records, with what its reader made of it."""

    url: str
    content_hash: str
    body: bytes
    record_count: int
    content: T


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
    client's own ``HttpClient``; a given ``http`` keeps its own limiter. Pages are
    followed only under ``base_url`` (same scheme, host, port and path prefix) and at
    most ``max_pages`` per query.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        http: HttpClient | None = None,
        rate_per_second: float | None = None,
        per_page: int = settings.PER_PAGE,
        max_pages: int = settings.MAX_PAGES_PER_QUERY,
    ):
        if http is not None and rate_per_second is not None:
            raise ValueError(
                "give either http or rate_per_second: a given HttpClient keeps its limiter"
            )
        if not 1 <= per_page <= settings.PER_PAGE:
            raise ValueError(f"per_page must be 1..{settings.PER_PAGE}, got {per_page}")
        if max_pages < 1:
            raise ValueError(f"max_pages must be at least 1, got {max_pages}")
        self.base_url = base_url.rstrip("/") if base_url else settings.base_url()
        self.rate_per_second = (
            rate_per_second if rate_per_second is not None else settings.rate_per_second()
        )
        self.http = (
            http if http is not None else kolada_http_client(rate_per_second=self.rate_per_second)
        )
        self.per_page = per_page
        self.max_pages = max_pages

    def kpis(self, ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """KPI records: the whole catalogue, or the given ids (unknown ids are simply absent)."""
        if ids is None:
            return self._records("/kpi", "kpi")
        records: list[dict[str, Any]] = []
        for batch in batches(unique_ids(ids), settings.MAX_IDS_PER_REQUEST):
            records.extend(self._records(f"/kpi/{','.join(batch)}", "kpi"))
        return records

    def municipalities(self) -> list[dict[str, Any]]:
        """Every area: kommuner (type K), regions and Riket ``0000`` (type L)."""
        return self._records("/municipality", "municipality")

    def municipality_groups(self) -> list[dict[str, Any]]:
        """Every area group with its members."""
        return self._records("/municipality_groups", "municipality_groups")

    def fetch_data(
        self,
        kpi_ids: Iterable[str],
        years: Iterable[int],
        *,
        read: PageReader[Any] | None = None,
        workers: int = settings.QUERY_WORKERS,
    ) -> Iterator[DataPage[Any]]:
        """Every data page for these KPIs and years, all areas, in the fewest requests.

        ``read`` reads each page once (default: its JSON records), in the thread that
        fetched it. Up to ``workers`` queries are fetched at once, all under the client's
        one throttle: Kolada limits requests per second, not requests in flight. Pages
        come in the order they arrive.
        """
        return self.fetch_queries(plan_data_queries(kpi_ids, years), read=read, workers=workers)

    def fetch_queries(
        self,
        queries: Sequence[DataQuery],
        *,
        read: PageReader[Any] | None = None,
        workers: int = settings.QUERY_WORKERS,
    ) -> Iterator[DataPage[Any]]:
        """Every page of these data queries (``fetch_data``'s, or incremental ones)."""
        reader = read or read_records
        chains = [partial(self._data_pages, query, reader) for query in queries]
        if workers <= 1 or len(chains) <= 1:
            for chain in chains:
                yield from chain()
            return
        yield from _interleaved(chains, workers)

    def _data_pages(self, query: DataQuery, read: PageReader[Any]) -> Iterator[DataPage[Any]]:
        pages = self._pages(query.path, "data", read, query.params)
        for response, (content, records) in pages:
            yield DataPage(response.url, response.content_hash, response.body, records, content)

    def _records(self, path: str, kind: str) -> list[dict[str, Any]]:
        pages = self._pages(path, kind, read_records)
        return [record for _, (values, _count) in pages for record in values]

    def _pages(
        self, path: str, kind: str, read: PageReader[T], params: Mapping[str, str] | None = None
    ) -> Iterator[tuple[Response, tuple[T, int]]]:
        """Follow ``next_url`` from the first page until null, an empty page or a repeat.

        A page from outside the base URL (redirected there) is refused before it is read,
        a next_url that leaves the base, loops or runs past ``max_pages`` before its page
        is handed on.
        """
        query = urlencode({**(params or {}), "per_page": self.per_page})
        first = f"{self.base_url}{path}?{query}"
        url = first
        seen: set[str] = set()
        while True:
            seen.add(url)
            response = self.http.get(url, label={"kind": kind})
            if not _is_under(self.base_url, response.url):
                raise _outside(self.base_url, url, f"was answered from {response.url}", response)
            content, next_url, records = _read(response, read)
            following = (
                self._following(first, response, next_url, seen) if records and next_url else None
            )
            yield response, (content, records)
            if following is None:
                return
            url = following

    def _following(self, first: str, response: Response, next_url: str, seen: set[str]) -> str:
        """The page ``next_url`` points to, unless it leaves the base, loops or is one too many."""
        following = urljoin(response.url, next_url)
        if not _is_under(self.base_url, following):
            raise _outside(
                self.base_url, response.url, f"points its next_url to {following}", response
            )
        if following in seen:
            raise KoladaResponseError(
                f"Kolada pagination loops: {response.url} points back to {following}, "
                "which was already fetched",
                url=response.url,
                status=response.status,
            )
        if len(seen) >= self.max_pages:
            raise KoladaResponseError(
                f"Kolada query {first} has more than {self.max_pages} pages: page "
                f"{response.url} still points on to {following}; is its next_url endless?",
                url=response.url,
                status=response.status,
            )
        return following


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_under(base_url: str, url: str) -> bool:
    """Whether ``url`` has the base's scheme, host and port and lies under its path."""
    base, parts = urlsplit(base_url), urlsplit(url)
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # a port that is not a number
        return False
    path = parts.path
    return (
        (parts.scheme, parts.hostname, port)
        == (base.scheme, base.hostname, base.port or _DEFAULT_PORTS.get(base.scheme))
        and (path == base.path or path.startswith(base.path.rstrip("/") + "/"))
        and ".." not in path.split("/")
    )


def _outside(base_url: str, page: str, what: str, response: Response) -> KoladaResponseError:
    """The error for a page that leads outside the base URL: nothing from there is used."""
    return KoladaResponseError(
        f"Kolada page {page} {what}, outside {base_url}: refused",
        url=page,
        status=response.status,
    )


def read_records(response: Response) -> tuple[list[dict[str, Any]], str | None, int]:
    """A page's records (``json``), its next_url and its record count."""
    envelope = parse_page(response)
    values: list[dict[str, Any]] = envelope["values"]
    return values, envelope.get("next_url"), len(values)


def _read(response: Response, read: PageReader[T]) -> tuple[T, str | None, int]:
    try:
        return read(response)
    except KoladaResponseError:
        raise
    except ValueError as exc:  # a reader's own parse error, e.g. KoladaRecordError
        raise _not_a_page(response, str(exc)) from exc


_DONE = object()


def _interleaved(chains: Sequence[Callable[[], Iterator[T]]], workers: int) -> Iterator[T]:
    """The items of every chain, ``workers`` chains at a time, as they come.

    A few items wait in a bounded queue, so a slow consumer holds back the fetch rather
    than letting pages pile up in memory. The first error in any chain is raised, and a
    consumer that stops early stops the workers.
    """
    done = queue.Queue[Any](maxsize=workers * 2)
    todo = queue.SimpleQueue[Callable[[], Iterator[T]]]()
    for chain in chains:
        todo.put(chain)
    stop = threading.Event()

    def work() -> None:
        try:
            while not stop.is_set():
                try:
                    chain = todo.get_nowait()
                except queue.Empty:
                    return
                for item in chain():
                    if stop.is_set():
                        return
                    done.put(item)
        except BaseException as exc:  # handed to the consumer, which raises it
            done.put(exc)
        finally:
            done.put(_DONE)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    try:
        finished = 0
        while finished < len(threads):
            item = done.get()
            if item is _DONE:
                finished += 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        stop.set()
        while any(thread.is_alive() for thread in threads):
            with suppress(queue.Empty):
                done.get(timeout=0.1)  # unblock workers waiting to put


def parse_page(response: Response) -> dict[str, Any]:
    """The JSON envelope ``{values, count, next_url, previous_url}`` of a Kolada answer."""

    def refuse(problem: str) -> KoladaResponseError:
        return _not_a_page(response, problem)

    try:
        envelope = json.loads(response.body)
    except ValueError as exc:  # UnicodeDecodeError included
        raise refuse(json_problem(response.body, exc)) from None
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


def _not_a_page(response: Response, problem: str) -> KoladaResponseError:
    """The error for an answer that is not a Kolada page, naming its URL and its start."""
    return KoladaResponseError(
        unreadable_answer(response, "a Kolada JSON page", problem),
        url=response.url,
        status=response.status,
        body=response.body,
    )
