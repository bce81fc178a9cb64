"""A fake Kolada API v3 on 127.0.0.1 for tests, ``malbild demo`` and benchmarks.

It answers like the live service as far as it is known (docs/API-NOTES): the page
envelope ``{values, count, next_url, previous_url}``, ``per_page`` ≤ 5000 and ``page``,
400 for more than 25 ids in a list, HTTP 200 with no values for unknown ids, and a
group id (``G…``) in the municipality position answering the unweighted mean of its
members. Record lists are built once per query and cached, so a page costs one
``json.dumps`` of a slice. Revisions between two refreshes can be simulated: ``revise``
and ``delete`` change a record on the settable date ``today``, and the data endpoints
take ``from_date=YYYY-MM-DD`` (only values changed on or after it; deleted values then
come flagged ``isdeleted`` with a null value). Faults (429, 500, HTML, broken JSON,
pagination cycles) can be injected. ``python -m fakes.kolada_server`` serves the bundled
sample data. Every answer carries the header ``X-Malbild-Sample-Data: generated``
(unless ``sample_data=False``): the pipeline lands such answers as sample data.

    with FakeKolada(catalogue, municipalities, groups, values) as fake:
        client = KoladaClient(fake.base_url)
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fakes.sample_data import SAMPLE_DATA_HEADER, SAMPLE_DATA_HEADER_VALUE

ValueRecord = dict[str, Any]
ValueFunction = Callable[[str, str, int], Sequence[ValueRecord] | None]
ValueProvider = Mapping[tuple[str, str, int], Sequence[ValueRecord]] | ValueFunction
RecordKey = tuple[str, str, int]
# A value and the date it last changed (published, revised or deleted).
Stamped = tuple[ValueRecord, date]

API_PREFIX = "/v3"
MAX_PER_PAGE = 5000
MAX_IDS = 25
DEFAULT_DATA_YEARS = range(2000, 2026)
_CACHED_QUERIES = 4
DEFAULT_PUBLISHED = date(2000, 1, 1)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received; ``path`` includes the ``/v3`` prefix."""

    method: str
    path: str
    query: dict[str, str]

    @property
    def is_data(self) -> bool:
        return self.path.startswith(f"{API_PREFIX}/data")


@dataclass
class Fault:
    """A canned answer for the next ``times`` requests whose path starts with ``path_prefix``."""

    path_prefix: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    times: int = 1
    next_url_cycle: bool = False


class _ApiError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


class FakeKolada:
    """Serves a Kolada v3 look-alike from in-memory metadata and a value provider.

    ``values`` maps ``(kpi, municipality, year)`` to the record's ``values`` list (missing
    fields get the API's defaults), or is a function of the same three arguments returning
    complete value dicts (``gender, count, status, value, isdeleted``) or ``None`` for no
    record. Data exists only for KPIs in ``catalogue`` and areas in ``municipalities``.
    With ``sample_data`` (the default) every answer carries ``X-Malbild-Sample-Data``.

    Revisions: every initial value counts as changed on ``published`` (default
    2000-01-01). ``revise`` and ``delete`` change a record on ``today`` (settable; default
    the real date). A data query with ``from_date=D`` answers only the values changed on
    or after ``D``: revised and added values as they are now, deleted ones as
    ``{gender, count, status: "", value: null, isdeleted: true}``; without ``from_date``
    deleted values are left out (and a record left with no value is not served).
    """

    def __init__(
        self,
        catalogue: Sequence[dict[str, Any]],
        municipalities: Sequence[dict[str, Any]],
        groups: Sequence[dict[str, Any]],
        values: ValueProvider,
        *,
        latency: float = 0.0,
        absolute_next_url: bool = False,
        data_years: Iterable[int] | None = None,
        port: int = 0,
        sample_data: bool = True,
        published: date | None = None,
    ):
        self.port = port
        # The date ``revise`` and ``delete`` stamp their changes with; tests move it.
        self.today: date = date.today()
        self._published = DEFAULT_PUBLISHED if published is None else published
        # Records changed by ``revise``/``delete``: every value (deleted ones flagged) with
        # the date it last changed. Consulted before the value provider.
        self._overlay: dict[RecordKey, list[Stamped]] = {}
        # Every answer says its values are generated (``X-Malbild-Sample-Data``); a test
        # that checks how real sources are attributed can turn it off.
        self.sample_data = sample_data
        self.latency = latency
        self.absolute_next_url = absolute_next_url
        self.requests: list[RecordedRequest] = []
        self._kpis = list(catalogue)
        self._areas = list(municipalities)
        self._groups = list(groups)
        self._kpi_ids = {kpi["id"] for kpi in self._kpis}
        self._area_ids = [area["id"] for area in self._areas]
        self._area_set = set(self._area_ids)
        self._members = {
            group["id"]: [member["member_id"] for member in group.get("members", [])]
            for group in self._groups
        }
        if isinstance(values, Mapping):
            mapping = {
                key: [_complete(value) for value in listed] for key, listed in values.items()
            }
            self._values: ValueFunction = lambda kpi, area, year: mapping.get((kpi, area, year))
            years = sorted({year for _, _, year in mapping}) if data_years is None else data_years
        else:
            self._values = values
            years = DEFAULT_DATA_YEARS if data_years is None else data_years
        self._data_years = sorted(years)
        self._data_cache: OrderedDict[tuple[Any, ...], list[dict[str, Any]]] = OrderedDict()
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeKolada:
        """Start serving on 127.0.0.1 (a free port unless one was given) in a daemon thread."""
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> FakeKolada:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake Kolada server is not running; call start()")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """The API root, like ``http://127.0.0.1:PORT/v3``."""
        return f"{self.origin}{API_PREFIX}"

    # -- test controls -------------------------------------------------------------------

    def inject(
        self,
        path_prefix: str,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        body: bytes | str = b"",
        times: int = 1,
        next_url_cycle: bool = False,
    ) -> None:
        """Answer the next ``times`` requests under ``path_prefix`` (e.g. ``/data``) with this.

        With ``next_url_cycle`` the real page is served but its ``next_url`` points back
        at the request itself, as a server caught in a pagination loop would.
        """
        prefix = path_prefix if path_prefix.startswith(API_PREFIX) else API_PREFIX + path_prefix
        fault = Fault(
            path_prefix=prefix,
            status=status,
            headers=dict(headers or {}),
            body=body.encode() if isinstance(body, str) else body,
            times=times,
            next_url_cycle=next_url_cycle,
        )
        with self._lock:
            self._faults.append(fault)

    def revise(self, kpi: str, municipality: str, year: int, values: Sequence[ValueRecord]) -> None:
        """Replace the record's values (a new record if it had none) as of ``today``.

        ``values`` are value dicts like the constructor's mapping form (missing fields get
        the API's defaults). Every given value is stamped as changed ``today``; a gender
        the record had before and ``values`` leaves out counts as deleted ``today``.
        """
        kpi, municipality, year = self._check_key(kpi, municipality, year)
        new = [_complete(value) for value in values]
        if not new:
            raise ValueError("revise needs at least one value; use delete() to remove values")
        genders = [value["gender"] for value in new]
        if len(set(genders)) != len(genders):
            raise ValueError(f"revise got a gender twice: {genders}")
        today = self.today
        with self._build_lock:
            before = self._entries(kpi, municipality, year)
            entries: list[Stamped] = [(value, today) for value in new]
            for value, stamp in before:
                if value["gender"] in genders:
                    continue
                if value.get("isdeleted"):
                    entries.append((value, stamp))
                else:
                    entries.append((_deleted(value), today))
            self._overlay[kpi, municipality, year] = entries
            if year not in self._data_years:
                self._data_years = sorted([*self._data_years, year])
            self._data_cache.clear()

    def delete(self, kpi: str, municipality: str, year: int, gender: str | None = None) -> None:
        """Delete the record's value for ``gender`` (all its values if None) as of ``today``.

        Raises ``KeyError`` if there is no such value to delete.
        """
        kpi, municipality, year = self._check_key(kpi, municipality, year)
        today = self.today
        with self._build_lock:
            entries: list[Stamped] = []
            hit = False
            for value, stamp in self._entries(kpi, municipality, year):
                if not value.get("isdeleted") and gender in (None, value["gender"]):
                    entries.append((_deleted(value), today))
                    hit = True
                else:
                    entries.append((value, stamp))
            if not hit:
                which = "any gender" if gender is None else f"gender {gender}"
                raise KeyError(f"no value of {kpi}/{municipality}/{year} for {which} to delete")
            self._overlay[kpi, municipality, year] = entries
            self._data_cache.clear()

    def redefine_kpi(self, kpi: str, **fields: Any) -> None:
        """Change a KPI's metadata (title, description, …), as Kolada does when it rewords
        a KPI or reuses its id for a new definition."""
        with self._build_lock:
            for position, record in enumerate(self._kpis):
                if record["id"] == kpi:
                    self._kpis[position] = {**record, **fields}
                    return
        raise KeyError(f"{kpi} is not in the fake's KPI catalogue")

    def set_group_members(self, group: str, member_ids: Sequence[str]) -> None:
        """Give a comparison group new members, as Kolada's yearly recomputation does."""
        titles = {area["id"]: area["title"] for area in self._areas}
        with self._build_lock:
            for position, record in enumerate(self._groups):
                if record["id"] == group:
                    members = [{"member_id": m, "member_title": titles[m]} for m in member_ids]
                    self._groups[position] = {**record, "members": members}
                    self._members[group] = list(member_ids)
                    self._data_cache.clear()
                    return
        raise KeyError(f"{group} is not one of the fake's groups")

    def _check_key(self, kpi: str, municipality: str, year: int) -> RecordKey:
        if kpi not in self._kpi_ids:
            raise ValueError(f"{kpi} is not in the fake's KPI catalogue")
        if municipality not in self._area_set:
            raise ValueError(
                f"{municipality} is not one of the fake's municipalities (group means follow "
                "their members)"
            )
        return kpi, municipality, int(year)

    def data_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [request for request in self.requests if request.is_data]

    def metadata_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [request for request in self.requests if not request.is_data]

    # -- request handling ------------------------------------------------------------

    def handle(self, method: str, target: str) -> tuple[int, dict[str, str], bytes]:
        """Answer one request: status, headers, body."""
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        with self._lock:
            self.requests.append(RecordedRequest(method, path, query))
            fault = self._take_fault(path)
        if self.latency:
            time.sleep(self.latency)
        if fault is not None and not fault.next_url_cycle:
            return fault.status, {"Content-Type": "application/json", **fault.headers}, fault.body
        try:
            if method != "GET":
                raise _ApiError(405, "Method Not Allowed")
            body = self._route(path, query, cycle=fault is not None)
        except _ApiError as error:
            return error.status, _JSON, json.dumps({"detail": error.detail}).encode()
        return 200, _JSON, body

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.times > 0 and path.startswith(fault.path_prefix):
                fault.times -= 1
                return fault
        return None

    def _route(self, path: str, query: dict[str, str], *, cycle: bool) -> bytes:
        if not path.startswith(API_PREFIX + "/"):
            raise _ApiError(404, "Not Found")
        segments = path[len(API_PREFIX) + 1 :].split("/")
        head, rest = segments[0], segments[1:]
        records: Sequence[dict[str, Any]]
        if head == "kpi" and len(rest) <= 1:
            records = self._metadata("kpi", self._kpis, rest, query)
        elif head == "municipality" and len(rest) <= 1:
            records = self._metadata("municipality", self._areas, rest, query)
        elif head == "municipality_groups" and len(rest) <= 1:
            records = self._metadata("municipality_groups", self._groups, rest, query)
        elif head == "data":
            records = self._data(rest, query)
        else:
            raise _ApiError(404, "Not Found")
        return self._page(path, query, records, cycle=cycle)

    def _metadata(
        self, kind: str, items: list[dict[str, Any]], rest: list[str], query: dict[str, str]
    ) -> list[dict[str, Any]]:
        selected = items
        if rest:
            wanted = set(_id_list(rest[0], "id"))
            selected = [item for item in selected if item["id"] in wanted]
        if title := query.get("title"):
            needle = title.casefold()
            selected = [item for item in selected if needle in item["title"].casefold()]
        if kind == "municipality" and (region_type := query.get("region_type")):
            selected = [item for item in selected if item["type"] == region_type]
        return selected

    def _data(self, rest: list[str], query: dict[str, str]) -> list[dict[str, Any]]:
        named = dict(zip(rest[0::2], rest[1::2], strict=False))
        # Kolada's path form: kpi, then municipality and/or year.
        if len(rest) % 2 or "kpi" not in named or set(named) - {"kpi", "municipality", "year"}:
            raise _ApiError(404, "Not Found")
        if len(named) < 2:
            raise _ApiError(404, "Not Found")
        kpis = tuple(_id_list(named["kpi"], "kpi"))
        areas = (
            tuple(_id_list(named["municipality"], "municipality"))
            if "municipality" in named
            else None
        )
        years = tuple(_years(named["year"])) if "year" in named else None
        since = _from_date(query["from_date"]) if "from_date" in query else None
        key = (kpis, areas, years, since)
        with self._build_lock:
            cached = self._data_cache.get(key)
            if cached is not None:
                self._data_cache.move_to_end(key)
                return cached
            built = self._build_data(kpis, areas, years, since)
            self._data_cache[key] = built
            if len(self._data_cache) > _CACHED_QUERIES:
                self._data_cache.popitem(last=False)
            return built

    def _build_data(
        self,
        kpis: tuple[str, ...],
        areas: tuple[str, ...] | None,
        years: tuple[int, ...] | None,
        since: date | None,
    ) -> list[dict[str, Any]]:
        area_ids = self._area_ids if areas is None else areas
        year_list = self._data_years if years is None else years
        records: list[dict[str, Any]] = []
        known_areas, groups = self._area_set, self._members
        for kpi in kpis:
            if kpi not in self._kpi_ids:
                continue
            for year in year_list:
                for area in area_ids:
                    if area in known_areas:
                        values = self._served(kpi, area, year, since)
                    elif area in groups:
                        values = self._group_mean(kpi, groups[area], year, since)
                    else:
                        continue
                    if values:
                        records.append(
                            {"kpi": kpi, "municipality": area, "period": year, "values": values}
                        )
        return records

    def _entries(self, kpi: str, area: str, year: int) -> Sequence[Stamped]:
        """Every value of a record (deleted ones flagged) with the date it last changed."""
        entries = self._overlay.get((kpi, area, year))
        if entries is not None:
            return entries
        published = self._published
        return [(value, published) for value in self._values(kpi, area, year) or ()]

    def _served(
        self, kpi: str, area: str, year: int, since: date | None
    ) -> Sequence[ValueRecord] | None:
        """The values a query answers for one record: current ones, or changed since ``since``."""
        entries = self._overlay.get((kpi, area, year)) if self._overlay else None
        if entries is None:
            # Never revised: every value was published on ``published``.
            if since is not None and since > self._published:
                return None
            values = self._values(kpi, area, year)
            if since is None and values and any(value.get("isdeleted") for value in values):
                return [value for value in values if not value.get("isdeleted")]
            return values
        if since is None:
            return [value for value, _ in entries if not value.get("isdeleted")]
        return [value for value, stamp in entries if stamp >= since]

    def _group_mean(
        self, kpi: str, members: list[str], year: int, since: date | None
    ) -> list[ValueRecord] | None:
        """The unweighted mean of the members' current values, per gender.

        A gender's mean counts as changed when any member's value of it last changed; with
        ``since``, one whose members' values are all deleted comes flagged as deleted.
        """
        by_gender: dict[str, list[float]] = {}
        changed: dict[str, date] = {}
        for member in members:
            for value, stamp in self._entries(kpi, member, year):
                gender = value["gender"]
                if gender not in changed or stamp > changed[gender]:
                    changed[gender] = stamp
                if value.get("isdeleted"):
                    continue
                numbers = by_gender.setdefault(gender, [])
                if value.get("value") is not None:
                    numbers.append(float(value["value"]))
        means: list[ValueRecord] = []
        for gender, stamp in changed.items():
            if since is not None and stamp < since:
                continue
            found = by_gender.get(gender)
            if found is None:
                if since is not None:
                    means.append(_deleted({"gender": gender, "count": 0}))
                continue
            means.append(
                {
                    "gender": gender,
                    "count": len(found),
                    "status": "",
                    "value": sum(found) / len(found) if found else None,
                    "isdeleted": False,
                }
            )
        return means or None

    def _page(
        self, path: str, query: dict[str, str], records: Sequence[dict[str, Any]], *, cycle: bool
    ) -> bytes:
        per_page = _positive_int(query.get("per_page", str(MAX_PER_PAGE)), "per_page")
        per_page = min(per_page, MAX_PER_PAGE)
        page = _positive_int(query.get("page", "1"), "page")
        start = (page - 1) * per_page
        chunk = records[start : start + per_page]
        if cycle:
            next_url: str | None = self._link(path, query, page, per_page, keep_query=True)
        elif start + per_page < len(records):
            next_url = self._link(path, query, page + 1, per_page)
        else:
            next_url = None
        previous_url = self._link(path, query, page - 1, per_page) if page > 1 else None
        envelope = {
            "values": chunk,
            "count": len(chunk),
            "next_url": next_url,
            "previous_url": previous_url,
        }
        return json.dumps(envelope, ensure_ascii=False).encode()

    def _link(
        self,
        path: str,
        query: dict[str, str],
        page: int,
        per_page: int,
        *,
        keep_query: bool = False,
    ) -> str:
        params = (
            dict(query) if keep_query else {**query, "page": str(page), "per_page": str(per_page)}
        )
        link = f"{path}?{urlencode(params)}" if params else path
        return self.origin + link if self.absolute_next_url else link


_JSON = {"Content-Type": "application/json; charset=utf-8"}


def _complete(value: ValueRecord) -> ValueRecord:
    """A value dict with every field the live API sends."""
    return {
        "gender": value.get("gender", "T"),
        "count": value.get("count", 1),
        "status": value.get("status", ""),
        "value": value.get("value"),
        "isdeleted": value.get("isdeleted", False),
    }


def _deleted(value: ValueRecord) -> ValueRecord:
    """A deleted value as a ``from_date`` answer shows it: flagged, with a null value.

    *Unverified*: what the live API puts in ``count`` and ``status`` of a deleted value
    is not recorded anywhere; the fake keeps the value's count and an empty status.
    """
    return {
        "gender": value["gender"],
        "count": value.get("count", 1),
        "status": "",
        "value": None,
        "isdeleted": True,
    }


def _from_date(text: str) -> date:
    # Strictly YYYY-MM-DD: date.fromisoformat alone would also take 20240101 or 2024-W01.
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise _ApiError(422, f"from_date must be a date YYYY-MM-DD, got {text!r}") from None


def _id_list(text: str, name: str) -> list[str]:
    ids = [part for part in text.split(",") if part]
    if len(ids) > MAX_IDS:
        raise _ApiError(400, f"Too many {name} ids: {len(ids)} given, at most {MAX_IDS} allowed")
    return ids


def _years(text: str) -> list[int]:
    parts = _id_list(text, "year")
    try:
        return [int(part) for part in parts]
    except ValueError:
        raise _ApiError(422, f"year must be integers, got {text!r}") from None


def _positive_int(text: str, name: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise _ApiError(422, f"{name} must be an integer, got {text!r}") from None
    if number < 1:
        raise _ApiError(422, f"{name} must be at least 1, got {number}")
    return number


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive, so a benchmark's thousand pages don't each open a connection.
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._answer("POST")

    def _answer(self, method: str) -> None:
        fake: FakeKolada = self.server.fake  # type: ignore[attr-defined]
        status, headers, body = fake.handle(method, self.path)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if fake.sample_data:
            self.send_header(SAMPLE_DATA_HEADER, SAMPLE_DATA_HEADER_VALUE)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log lines."""


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the bundled metadata and generated SAMPLE values until interrupted.

    A separate process keeps the fake's work out of a benchmarked client's GIL:
    ``python -m fakes.kolada_server --port 8765``.
    """
    import argparse

    from fakes.sample_data import sample_kolada

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--absolute-next-url", action="store_true")
    args = parser.parse_args(argv)
    fake = FakeKolada(
        **sample_kolada(),
        port=args.port,
        latency=args.latency,
        absolute_next_url=args.absolute_next_url,
    )
    with fake:
        print(fake.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
