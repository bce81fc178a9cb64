"""A fake SCB PxWebApi 2.0 on 127.0.0.1 for tests, ``malbild demo`` and benchmarks.

Serves the tables in ``fakes/data/scb/`` (see its README: real recorded metadata, the
Region lists widened to every area, and recorded data answers). A data call answers
any selection over a table's metadata: cells found in a recording keep the recorded
value and status; every other cell is a deterministic SYNTHETIC sample value, not a
statistic (see "generated SAMPLE cells" below: plausible for what the table measures,
from the same kommun populations as the fake Kolada's, Riket and counties made from
their kommuner), and the answer says so in its ``note``. Every answer carries the
header ``X-Malbild-Sample-Data: generated`` (unless ``sample_data=False``): the
pipeline lands such answers as sample data.

It enforces what the live service does: the ``/config`` limits (cells per call, calls
per sliding window per client address, answered with 429 and ``Retry-After``), and
problem+json refusals (404 "Non-existent table", 400 "Non-existent variable",
"Non-existent value", "Too many cells selected", …). Every request is logged.
``revise_table`` simulates SCB revising a table between two refreshes: a new
``updated`` stamp and changed values.

    with FakeScbServer(max_data_cells=1000, max_calls=3, window=1.0) as scb:
        client = ScbClient(scb.base_url)
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import random
import re
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from statistics import NormalDist
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from fakes.sample_data import (
    BASE_YEAR,
    SAMPLE_DATA_HEADER,
    SAMPLE_DATA_HEADER_VALUE,
    age_share,
    female_share,
    kommun_codes,
    population,
)
from transforms.scb import jsonstat_codes

DATA_DIR = Path(__file__).parent / "data" / "scb"

SAMPLE_NOTE = (
    "malbild fake server: cells not found in recorded SCB answers are synthetic sample "
    "values, not statistics."
)


# One answered cell: value and status symbol.
Cell = tuple[float | None, str | None]


@dataclass(frozen=True)
class LoggedRequest:
    """One request the fake answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int
    client: str
    at: float


class Problem(Exception):
    """An answer in application/problem+json."""

    def __init__(self, status: int, title: str, detail: str | None = None):
        super().__init__(title)
        self.status = status
        self.title = title
        self.detail = detail


@dataclass
class _Recording:
    ids: list[str]
    codes: dict[str, list[str]]
    cells: dict[tuple[str, ...], tuple[Any, str | None]]


@dataclass
class _Table:
    metadata: dict[str, Any]
    recordings: list[_Recording] = field(default_factory=list)
    synthetic: _Synthetic | None = None
    # What ``revise_table`` multiplied the table's values by, all revisions together.
    scale: float = 1.0

    @property
    def variables(self) -> list[str]:
        return list(self.metadata["id"])

    def codes(self, variable: str) -> list[str]:
        return jsonstat_codes(self.metadata["dimension"][variable])


def _load_tables(data_dir: Path) -> dict[str, _Table]:
    tables = {
        path.stem: _Table(json.loads(path.read_text("utf-8")))
        for path in sorted((data_dir / "metadata").glob("*.json"))
    }
    for path in sorted((data_dir / "data").glob("*.json")):
        answer = json.loads(path.read_text("utf-8"))
        table = tables.get(answer["extension"]["px"]["tableid"])
        if table is None:
            continue
        ids = list(answer["id"])
        codes = {d: jsonstat_codes(answer["dimension"][d]) for d in ids}
        status = answer.get("status") or {}
        cells = {
            key: (value, status.get(str(i)))
            for i, (key, value) in enumerate(
                zip(itertools.product(*(codes[d] for d in ids)), answer["value"], strict=True)
            )
        }
        table.recordings.append(_Recording(ids, codes, cells))
    return tables


class FakeScbServer:
    """The fake PxWebApi; a context manager that serves on a random port."""

    def __init__(
        self,
        *,
        max_data_cells: int = 150_000,
        max_calls: int = 30,
        window: float = 10.0,
        latency: float = 0.0,
        data_dir: Path = DATA_DIR,
        sample_data: bool = True,
    ):
        self.max_data_cells = max_data_cells
        self.max_calls = max_calls
        self.window = window
        self.latency = latency
        # Every answer says its values are generated (``X-Malbild-Sample-Data``); a test
        # that checks how real sources are attributed can turn it off.
        self.sample_data = sample_data
        self.tables = _load_tables(data_dir)
        self.codelists = {
            path.stem: json.loads(path.read_text("utf-8"))
            for path in sorted((data_dir / "codelists").glob("*.json"))
        }
        self._config = json.loads((data_dir / "config.json").read_text("utf-8"))
        self.log: list[LoggedRequest] = []
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake SCB server is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/v2"

    def start(self) -> FakeScbServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeScbServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- log -----------------------------------------------------------------------

    def requests(self, method: str | None = None, path_contains: str = "") -> list[LoggedRequest]:
        """Logged requests, optionally only one method and paths containing a text."""
        with self._lock:
            return [
                r
                for r in self.log
                if (method is None or r.method == method) and path_contains in r.path
            ]

    # -- test controls -------------------------------------------------------------

    def revise_table(self, table_id: str, updated: str, scale: float = 1.0) -> None:
        """Revise a table as SCB does between two refreshes.

        ``updated`` (ISO 8601, like ``2026-03-01T07:00:00Z``) becomes the table's stamp in
        its metadata, its ``/tables`` entry and every data answer. Every value served from
        now on (recorded and generated cells alike, nulls and their status aside) is
        multiplied by ``scale`` and rounded to its content's decimals, as values are;
        revisions compound (two of 1.1 give 1.21). Raises ``KeyError`` for an unknown table
        and ``ValueError`` for a malformed ``updated`` or a ``scale`` not above 0.
        """
        table = self.tables.get(table_id)
        if table is None:
            raise KeyError(f"no table {table_id} in the fake SCB")
        try:
            datetime.fromisoformat(updated.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"updated must be an ISO 8601 time, got {updated!r}") from None
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a finite number above 0, got {scale!r}")
        with self._lock:
            table.metadata["updated"] = updated
            table.scale *= scale

    def refused(self) -> list[LoggedRequest]:
        """Requests answered 400 or 429 (what a well-behaved client never causes)."""
        return [r for r in self.requests() if r.status in (400, 429)]

    # -- HTTP ----------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        if self.latency:
            time.sleep(self.latency)
        parts = urlsplit(request.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query)
        client = request.client_address[0]
        body: Any = None
        headers: dict[str, str] = {}
        try:
            if method == "POST":
                length = int(request.headers.get("Content-Length") or 0)
                raw = request.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    raise Problem(400, "Invalid request body") from None
            retry_after = self._admit(client)
            if retry_after is not None:
                headers["Retry-After"] = str(retry_after)
                raise Problem(429, "Too many requests", "Call limit exceeded; retry later")
            status, answer = 200, self._route(method, path, query, body)
            content_type = "application/json; charset=utf-8"
        except Problem as problem:
            status = problem.status
            answer = {"type": "Parameter error", "title": problem.title, "status": status}
            if problem.detail:
                answer["detail"] = problem.detail
            content_type = "application/problem+json; charset=utf-8"
        payload = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        with self._lock:
            self.log.append(LoggedRequest(method, path, query, body, status, client, time.time()))
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(payload)))
        if self.sample_data:
            request.send_header(SAMPLE_DATA_HEADER, SAMPLE_DATA_HEADER_VALUE)
        for name, value in headers.items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(payload)

    def _admit(self, client: str) -> int | None:
        """None if the call fits the client's sliding window, else seconds to wait.

        Refused calls are not counted, so waiting ``Retry-After`` always helps.
        """
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(client, deque())
            while calls and calls[0] <= now - self.window:
                calls.popleft()
            if len(calls) >= self.max_calls:
                return max(1, math.ceil(calls[0] + self.window - now))
            calls.append(now)
            return None

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Any:
        segments = [s for s in path.split("/") if s]
        if segments[:2] != ["api", "v2"]:
            raise Problem(404, "Not found", path)
        rest = segments[2:]
        if method == "GET" and rest == ["config"]:
            return {
                **self._config,
                "maxDataCells": self.max_data_cells,
                "maxCallsPerTimeWindow": self.max_calls,
                "timeWindow": self.window,
            }
        if method == "GET" and rest == ["tables"]:
            return self._tables(query)
        if len(rest) >= 2 and rest[0] == "tables":
            table = self.tables.get(rest[1])
            if table is None:
                raise Problem(404, "Non-existent table")
            if method == "GET" and len(rest) == 2:
                return self._table_entry(rest[1], table)
            if method == "GET" and rest[2:] == ["metadata"]:
                return table.metadata
            if method == "POST" and rest[2:] == ["data"]:
                return self._data(rest[1], table, body)
        if method == "GET" and len(rest) == 2 and rest[0].lower() == "codelists":
            codelist = self.codelists.get(rest[1])
            if codelist is None:
                raise Problem(404, "Non-existent codelist")
            return codelist
        raise Problem(404, "Not found", path)

    # -- endpoints -----------------------------------------------------------------

    def _table_entry(self, table_id: str, table: _Table) -> dict[str, Any]:
        meta = table.metadata
        time_var = (meta.get("role") or {}).get("time", ["Tid"])[0]
        periods = table.codes(time_var)
        return {
            "type": "Table",
            "id": table_id,
            "label": meta["label"],
            "description": "",
            "updated": meta.get("updated"),
            "firstPeriod": periods[0],
            "lastPeriod": periods[-1],
            "category": "public",
            "variableNames": [meta["dimension"][v]["label"] for v in table.variables],
            "source": meta.get("source", "SCB"),
            "subjectCode": meta["extension"]["px"].get("subject-code"),
            "timeUnit": "Annual" if all(p.isdigit() for p in periods) else "Monthly",
            "links": [],
        }

    def _tables(self, query: dict[str, list[str]]) -> dict[str, Any]:
        text = (query.get("query") or [""])[0].casefold()
        size = int((query.get("pageSize") or query.get("pagesize") or ["20"])[0])
        number = int((query.get("pageNumber") or ["1"])[0])
        found = [
            self._table_entry(table_id, table)
            for table_id, table in self.tables.items()
            if text in table.metadata["label"].casefold() or text in table_id.casefold()
        ]
        pages = max(1, math.ceil(len(found) / size))
        if number < 1 or number > pages:
            raise Problem(404, "Non-existent page", "Non-existent page")
        return {
            "language": "sv",
            "tables": found[(number - 1) * size : number * size],
            "page": {
                "pageNumber": number,
                "pageSize": size,
                "totalElements": len(found),
                "totalPages": pages,
                "links": [],
            },
            "links": [],
        }

    def _data(self, table_id: str, table: _Table, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("selection"), list):
            raise Problem(400, "Invalid request body", 'expected {"selection": [...]}')
        chosen: dict[str, tuple[list[str], dict[str, str]]] = {}
        for entry in body["selection"]:
            variable = entry.get("variableCode")
            if variable not in table.variables:
                raise Problem(400, "Non-existent variable", f"Variable {variable} does not exist")
            chosen[variable] = self._values(table, variable, entry)
        meta = table.metadata
        ids = [v for v in table.variables if v in chosen]
        for variable in table.variables:
            if variable not in chosen and not meta["dimension"][variable]["extension"].get(
                "elimination"
            ):
                raise Problem(400, "Missing selection for mandantory variable", variable)
        cells = math.prod(len(chosen[v][0]) for v in ids)
        if cells > self.max_data_cells:
            raise Problem(400, "Too many cells selected", "Too many cells selected")

        values: list[Any] = []
        status: dict[str, str] = {}
        scale, decimals = table.scale, _decimals(meta)
        content = ((meta.get("role") or {}).get("metric") or [None])[0]
        for i, combo in enumerate(itertools.product(*(chosen[v][0] for v in ids))):
            cell = dict(zip(ids, combo, strict=True))
            value, symbol = self._cell(table_id, table, cell)
            if scale != 1.0 and value is not None:
                value = _rounded(value * scale, decimals.get(cell.get(content or ""), 0))
            values.append(value)
            if symbol:
                status[str(i)] = symbol
        dimension = {}
        for variable in ids:
            codes, labels = chosen[variable]
            source = meta["dimension"][variable]
            category: dict[str, Any] = {
                "index": {c: i for i, c in enumerate(codes)},
                "label": {c: labels[c] for c in codes},
            }
            if "unit" in source["category"]:
                category["unit"] = {c: source["category"]["unit"][c] for c in codes}
            extension = {k: v for k, v in source["extension"].items() if k != "codelists"}
            dimension[variable] = {"label": source["label"], "category": category}
            dimension[variable]["extension"] = extension
        answer = {
            "version": "2.0",
            "class": "dataset",
            "label": meta["label"],
            "source": meta.get("source", "SCB"),
            "updated": meta.get("updated"),
            "note": [*meta.get("note", []), SAMPLE_NOTE],
            "role": meta.get("role"),
            "id": ids,
            "size": [len(chosen[v][0]) for v in ids],
            "dimension": dimension,
            "extension": {**meta.get("extension", {}), "discontinued": None},
            "value": values,
        }
        if status:
            answer["status"] = status
        return answer

    def _values(
        self, table: _Table, variable: str, entry: dict[str, Any]
    ) -> tuple[list[str], dict[str, str]]:
        """Selected codes (in the variable's or codelist's order) and their labels."""
        dimension = table.metadata["dimension"][variable]
        codelist_id = entry.get("codelist")
        if codelist_id:
            offered = {c["id"] for c in dimension["extension"].get("codelists") or []}
            codelist = self.codelists.get(codelist_id)
            if codelist_id not in offered or codelist is None:
                detail = f"Codelist {codelist_id} for {variable}"
                raise Problem(400, "Non-existent codelist", detail)
            labels = {v["code"]: v["label"] for v in codelist["values"]}
            codes = list(labels)
        else:
            codes = jsonstat_codes(dimension)
            labels = dimension["category"]["label"]
        is_time = variable in (table.metadata.get("role") or {}).get("time", [])
        picked: set[str] = set()
        for item in entry.get("valueCodes") or []:
            picked.update(_select(codes, str(item), is_time, variable))
        if not picked:
            raise Problem(400, "Missing selection for mandantory variable", variable)
        return [c for c in codes if c in picked], labels

    def _cell(self, table_id: str, table: _Table, cell: dict[str, str]) -> Cell:
        for recording in table.recordings:
            if not set(cell) <= set(recording.ids):
                continue
            # A variable left out of the request is eliminated: SCB answers its total,
            # here the sum of the recorded values.
            free = [d for d in recording.ids if d not in cell]
            if any(cell[d] not in recording.codes[d] for d in cell):
                continue
            total: float | None = 0.0
            symbol = None
            for combo in itertools.product(*(recording.codes[d] for d in free)):
                where = {**cell, **dict(zip(free, combo, strict=True))}
                value, symbol = recording.cells[tuple(where[d] for d in recording.ids)]
                total = None if value is None or total is None else total + value
            return total, symbol if total is None else None
        if table.synthetic is None:
            table.synthetic = _Synthetic(table_id, table.metadata)
        return table.synthetic.cell(cell)


def _decimals(metadata: dict[str, Any]) -> dict[str | None, int]:
    """The decimals of each content code's values, from the metadata's units."""
    content = ((metadata.get("role") or {}).get("metric") or [None])[0]
    units = (metadata["dimension"].get(content) or {}).get("category", {}).get("unit", {})
    return {code: int(unit.get("decimals", 0)) for code, unit in units.items()}


def _select(codes: list[str], item: str, is_time: bool, variable: str) -> list[str]:
    """The codes one value or selection expression picks (PxWebApi 2.0 semantics)."""
    folded = {c.casefold(): c for c in codes}

    def position(code: str) -> int:
        if code.casefold() not in folded:
            raise Problem(400, "Non-existent value", f"Value {code} of variable {variable}")
        return codes.index(folded[code.casefold()])

    if item == "*":
        return codes
    if "*" in item:
        core = item.strip("*").casefold()
        return [
            c
            for c in codes
            if (item.startswith("*") and item.endswith("*") and core in c.casefold())
            or (item.startswith("*") and not item.endswith("*") and c.casefold().endswith(core))
            or (item.endswith("*") and not item.startswith("*") and c.casefold().startswith(core))
        ]
    if "?" in item:
        pattern = re.compile("^" + re.escape(item).replace(r"\?", ".") + "$", re.IGNORECASE)
        return [c for c in codes if pattern.match(c)]
    expression = re.match(r"^(TOP|BOTTOM|FROM|TO|RANGE)\((.*)\)$", item, re.IGNORECASE)
    if expression is None:
        return [codes[position(item)]]
    kind, args = expression.group(1).upper(), [a.strip() for a in expression.group(2).split(",")]
    try:
        if kind in ("TOP", "BOTTOM"):
            count, offset = int(args[0]), int(args[1]) if len(args) > 1 else 0
            ordered = codes[::-1] if (kind == "TOP") == is_time else codes
            return ordered[offset : offset + count]
        if kind == "FROM":
            return codes[position(args[0]) :]
        if kind == "TO":
            return codes[: position(args[0]) + 1]
        first, last = sorted((position(args[0]), position(args[1])))
        return codes[first : last + 1]
    except (ValueError, IndexError):
        raise Problem(400, "Illegal selection expression", item) from None


# -- generated SAMPLE cells ----------------------------------------------------------------
#
# Cells no recording holds are made up, deterministically, from the same kommun
# populations as the fake Kolada's (``fakes.sample_data.population``): a population
# cell is that population (times an age, sex and civil status share), flows and
# dwellings are plausible in sign and size for it, incomes, mean ages and employment
# rates stay in their ranges. A county, Riket and Stor-Stockholm/-Göteborg/-Malmö are
# the sum (counts) or population-weighted mean (rates, means) of their kommuner's
# generated values (a kommun cell found in a recording is still served as recorded).
# None of these values are statistics.

# SCB's metropolitan areas (Storstadsområden), by their kommuner; Stor-Stockholm
# ``0010`` is Stockholms län.
_METROPOLITAN = {
    "0020": ("1480", "1481", "1384", "1401", "1402", "1407", "1415", "1419", "1440",
             "1441", "1462", "1482", "1489"),
    "0030": ("1280", "1281", "1230", "1231", "1233", "1261", "1262", "1263", "1264",
             "1267", "1285", "1287"),
}  # fmt: skip
# About one kommun and period in a hundred of the non-population tables is "..", as
# some of SCB's are (all of its cells alike, so flows still add up in the sums).
_MISSING_ONE_IN = 97
_CACHED_ROWS = 1_000

# Semantic variables, by their label (casefolded), so renamed variables still work.
_ROLES_BY_LABEL = {
    "ålder": "age", "age": "age", "kön": "sex", "sex": "sex", "civilstånd": "civil",
    "hustyp": "house", "utbildningsnivå": "education", "inkomstklass": "income",
    "födelseregion": "birth", "ämne": "substance",
}  # fmt: skip
_REGION_LABELS = {"region", "område"}


class _Synthetic:
    """The generated SAMPLE cells of one table (see the comment above)."""

    def __init__(self, table_id: str, metadata: dict[str, Any]):
        self.table_id = table_id
        roles = metadata.get("role") or {}
        variables = list(metadata["id"])
        labels = {v: str(metadata["dimension"][v].get("label") or "").casefold() for v in variables}
        geo = list(roles.get("geo") or []) or [v for v in variables if labels[v] in _REGION_LABELS]
        self.region = geo[0] if geo else None
        self.time = (roles.get("time") or [None])[0]
        self.content = (roles.get("metric") or [None])[0]
        self.others = [v for v in variables if v != self.region]
        self.roles = {v: _ROLES_BY_LABEL.get(labels[v], "other") for v in variables}
        self.sizes = {v: len(jsonstat_codes(metadata["dimension"][v])) for v in variables}
        units = (metadata["dimension"].get(self.content) or {}).get("category", {}).get("unit", {})
        self.units = {
            code: (str(u.get("base", "")), int(u.get("decimals", 0))) for code, u in units.items()
        }
        self.population_table = any(
            _MODELS.get(code, _GENERIC)[0] in ("people", "change", "mean_age")
            for code in self.units
        )
        self._rows: dict[tuple[str | None, ...], dict[str, Cell]] = {}

    def cell(self, cell: dict[str, str]) -> Cell:
        key = tuple(cell.get(v) for v in self.others)
        row = self._rows.get(key)
        if row is None:
            row = self._row(cell)
            if len(self._rows) >= _CACHED_ROWS:
                self._rows.clear()
            self._rows[key] = row
        region = cell.get(self.region, "00") if self.region else "00"
        found = row.get(region)
        if found is None:
            found = row[region] = self._kommun_cell(region, cell)
        return found

    def _row(self, cell: dict[str, str]) -> dict[str, Cell]:
        """Every kommun's cell for this selection of the other variables, and their sums."""
        row: dict[str, Cell] = {}
        selection = self._selection(cell)
        kind = _MODELS.get(selection.content, _GENERIC)[0]
        total = selection.generic_sum if kind == "generic" else _IS_SUM[kind]
        for kommun in kommun_codes():
            row[kommun] = self._kommun_value(kommun, selection)
        for code, members in _aggregates().items():
            value = weight = 0.0
            for member in members:
                found = row[member][0]
                if found is not None:
                    share = 1.0 if total else float(population(member, selection.year))
                    value += share * found
                    weight += share
            if weight:
                row[code] = (_rounded(value if total else value / weight, selection.decimals), None)
        return row

    def _kommun_cell(self, region: str, cell: dict[str, str]) -> Cell:
        """A region code outside the kommun list: drawn as a kommun of its own."""
        return self._kommun_value(region, self._selection(cell))

    def _kommun_value(self, kommun: str, selection: _Selection) -> Cell:
        if (
            not self.population_table
            and zlib.crc32(f"{self.table_id}|{kommun}|{selection.period}".encode())
            % _MISSING_ONE_IN
            == 0
        ):
            return None, ".."
        model = _MODELS.get(selection.content, _GENERIC)[1]
        value = model(kommun, selection)
        return _rounded(value, selection.decimals), None

    def _selection(self, cell: dict[str, str]) -> _Selection:
        period = cell.get(self.time, "") if self.time else ""
        year = int(period[:4]) if period[:4].isdigit() else BASE_YEAR
        month = (
            int(period[5:]) if len(period) > 5 and period[4] == "M" and period[5:].isdigit() else 12
        )
        content = cell.get(self.content, "") if self.content else ""
        base, decimals = self.units.get(content, ("", 0))
        codes: dict[str, str] = {}
        shares = 1.0
        for variable, role in self.roles.items():
            code = cell.get(variable)
            if code is None or variable in (self.region, self.time, self.content):
                continue
            if role == "other":
                # An unknown variable: its codes share the total evenly (total-like codes aside).
                if not _is_total(code):
                    shares /= max(self.sizes[variable] - 1, 1)
            else:
                codes[role] = code
        return _Selection(
            table=self.table_id,
            content=content,
            period=period,
            year=year,
            month=month,
            ages=_age_range(codes.get("age", "tot")),
            sex=codes.get("sex") if codes.get("sex") in ("1", "2") else None,
            codes=codes,
            decimals=decimals,
            other_share=shares,
            generic_sum="antal" in base or "person" in base,
        )


@dataclass(frozen=True)
class _Selection:
    """One cell's codes, read: the content, the period, an age band (None: all ages)…"""

    table: str
    content: str
    period: str
    year: int
    month: int
    ages: tuple[int, int | None] | None
    sex: str | None
    codes: dict[str, str]
    decimals: int
    other_share: float
    generic_sum: bool

    def code(self, role: str) -> str | None:
        found = self.codes.get(role)
        return None if found is None or _is_total(found) else found


@functools.cache
def _aggregates() -> dict[str, tuple[str, ...]]:
    """SCB's Riket ``00``, counties ``XX`` and metropolitan areas, by their kommuner."""
    kommuner = kommun_codes()
    found: dict[str, tuple[str, ...]] = {"00": kommuner}
    for county in sorted({kommun[:2] for kommun in kommuner}):
        found[county] = tuple(kommun for kommun in kommuner if kommun[:2] == county)
    found["0010"] = found.get("01", ())
    found.update(_METROPOLITAN)
    return found


def _is_total(code: str) -> bool:
    return code.casefold().startswith("tot") or code in ("1+2", "SC")


def _age_range(code: str) -> tuple[int, int | None] | None:
    """The ages an SCB age code covers: ``tot``/``TotSA`` None, ``-4`` 0–4, ``85+``…"""
    text = code.strip()
    if text.upper() in ("TOT", "TOTSA", "TOT1", "TOT5", "TOT10", "TOTALT"):
        return None
    if text[:3].casefold() == "tot":
        text = text[3:]
    found = re.fullmatch(r"(\d*)\s*(?:-\s*(\d+)|(\+)\d*)?", text)
    if found is None or not (found.group(1) or found.group(2)):
        return None
    low = int(found.group(1) or 0)
    if found.group(3):
        return low, None
    return low, int(found.group(2)) if found.group(2) else low


def _rounded(value: float, decimals: int) -> float:
    return float(round(value, decimals))


@functools.cache
def _effect(kommun: str, purpose: str) -> float:
    """A kommun's lasting SAMPLE difference for one purpose: about N(0, 1), within ±2.5."""
    return min(max(random.Random(_bits(f"scb|{purpose}|{kommun}")).gauss(0, 1), -2.5), 2.5)


def _noise(kommun: str, purpose: str, year: int) -> float:
    return _effect(kommun, f"{purpose}|{year}")


def _size(kommun: str) -> float:
    """log10 of a kommun's size relative to 20,000 inhabitants (big cities about 1.7)."""
    return math.log10(population(kommun, BASE_YEAR) / 20_000)


def _people_at(kommun: str, selection: _Selection) -> float:
    """The kommun's population at the cell's period (months interpolate the year)."""
    now = population(kommun, selection.year)
    if selection.month == 12:
        return float(now)
    before = population(kommun, selection.year - 1)
    return before + (now - before) * selection.month / 12


def _ages_share(selection: _Selection) -> float:
    return 1.0 if selection.ages is None else age_share(*selection.ages)


def _band(selection: _Selection, low: int = 0, high: int = 100) -> tuple[int, int]:
    """The cell's age band within ``low``–``high`` (the ages a table covers)."""
    band_low, band_high = selection.ages or (low, high)
    return max(band_low, low), min(high if band_high is None else band_high, high)


def _sex_share(kommun: str, selection: _Selection) -> float:
    if selection.sex is None:
        return 1.0
    women = female_share(kommun) + (0.08 if selection.ages and selection.ages[0] >= 75 else 0.0)
    return women if selection.sex == "2" else 1 - women


@functools.cache
def _age_mean(profile: str, low: int, high: int) -> float:
    """The population-weighted mean of an age profile over ages ``low``–``high``."""
    ages = range(max(low, 0), min(high, 100) + 1)
    weights = [age_share(age, age) for age in ages]
    if not sum(weights):
        return 0.0
    return sum(w * _PROFILES[profile](age) for w, age in zip(weights, ages, strict=True)) / sum(
        weights
    )


def _civil(age: int, status: str) -> float:
    if age < 18:
        return 1.0 if status == "OG" else 0.0
    married = min(0.55, 0.022 * (age - 18)) if age < 75 else max(0.3, 0.55 - 0.02 * (age - 75))
    divorced = min(0.13, 0.005 * (age - 22)) if age > 22 else 0.0
    widowed = 0.0 if age < 55 else min(0.55, 0.012 * (age - 55) ** 1.3 / 4)
    shares = {"G": married, "SK": divorced, "ÄNKL": widowed}
    return shares.get(status, max(1.0 - married - divorced - widowed, 0.0))


def _employment(age: int) -> float:
    for top, rate in ((19, 0.3), (24, 0.62), (29, 0.8), (54, 0.86), (59, 0.82), (64, 0.7),
                      (69, 0.22), (74, 0.08)):  # fmt: skip
        if age <= top:
            return rate
    return 0.02


def _income_by_age(age: int) -> float:
    for top, factor in ((19, 0.08), (24, 0.55), (29, 0.82), (34, 0.95), (39, 1.05), (54, 1.12),
                        (59, 1.08), (64, 0.98), (69, 0.72), (74, 0.6), (84, 0.52)):  # fmt: skip
        if age <= top:
            return factor
    return 0.45


def _moving(age: int) -> float:
    """How much people of an age move, relative to the average."""
    for top, factor in ((17, 0.9), (18, 2.0), (29, 3.2), (39, 1.8), (64, 0.7)):
        if age <= top:
            return factor
    return 0.3


_PROFILES: dict[str, Callable[[int], float]] = {
    "employment": _employment,
    "income": _income_by_age,
    "moving": _moving,
    **{f"civil|{s}": functools.partial(_civil, status=s) for s in ("OG", "G", "SK", "ÄNKL")},
}
_EDUCATION = {  # shares of the levels by age (up to 19, 24, 64, 74)
    19: {"1": 0.01, "2": 0.75, "3": 0.05, "4": 0.15, "5": 0.0, "6": 0.0, "7": 0.0, "US": 0.04},
    24: {"1": 0.01, "2": 0.1, "3": 0.05, "4": 0.55, "5": 0.12, "6": 0.12, "7": 0.0, "US": 0.05},
    64: {"1": 0.03, "2": 0.07, "3": 0.12, "4": 0.25, "5": 0.16, "6": 0.33, "7": 0.015,
         "US": 0.025},
    74: {"1": 0.12, "2": 0.1, "3": 0.25, "4": 0.12, "5": 0.15, "6": 0.22, "7": 0.01, "US": 0.03},
}  # fmt: skip


def _education_share(age: int, level: str) -> float:
    return next(shares for top, shares in _EDUCATION.items() if age <= top or top == 74)[level]


for _level in _EDUCATION[64]:
    _PROFILES[f"education|{_level}"] = functools.partial(_education_share, level=_level)


def _people(kommun: str, selection: _Selection) -> float:
    """Folkmängd: the population, times the age band's, sex's and civil status' shares."""
    value = _people_at(kommun, selection) * _ages_share(selection) * _sex_share(kommun, selection)
    if status := selection.code("civil"):
        value *= _age_mean(f"civil|{status}", *_band(selection))
        if status == "ÄNKL" and selection.sex is not None:
            value *= 1.5 if selection.sex == "2" else 0.5  # more widows than widowers
    return value * selection.other_share


def _change(kommun: str, selection: _Selection) -> float:
    """Folkökning: this year's population less last year's, shared like ``_people``."""
    change = population(kommun, selection.year) - population(kommun, selection.year - 1)
    people = _people(kommun, selection)
    return change * people / max(_people_at(kommun, selection), 1.0)


def _mean_age(kommun: str, selection: _Selection) -> float:
    """Medelålder: 38–48 years, younger in cities, slowly rising."""
    value = 42.5 + 1.5 * _effect(kommun, "age") - 1.2 * _size(kommun)
    value += 0.07 * (selection.year - BASE_YEAR) + 0.1 * _noise(kommun, "age", selection.year)
    value = min(max(value, 38.0), 48.0)
    return value + {"1": -1.2, "2": 1.2}.get(selection.sex or "", 0.0)


# Immigration by year, relative to the average (roughly the shape of the 2010s wave).
_IMMIGRATION = {2013: 1.2, 2014: 1.35, 2015: 1.4, 2016: 1.6, 2017: 1.4, 2018: 1.2, 2019: 1.05,
                2020: 0.75, 2021: 0.8, 2022: 0.95, 2023: 0.85, 2024: 0.75, 2025: 0.7}  # fmt: skip


@functools.lru_cache(maxsize=65_536)
def _flows(kommun: str, year: int) -> dict[str, int]:
    """A kommun's moves in a year, in whole people, adding up as SCB's do."""
    now, before = population(kommun, year), population(kommun, year - 1)
    natural = round(before * (0.001 * _effect(kommun, "births") + 0.002 * _size(kommun)))
    net = now - before - natural
    factor = _IMMIGRATION.get(year, 0.6 if year < 2006 else 0.95)
    immigration = round(before * 0.009 * math.exp(0.35 * _effect(kommun, "immigration")) * factor)
    emigration = round(before * 0.005 * math.exp(0.25 * _effect(kommun, "emigration")))
    domestic_net = net - (immigration - emigration)
    out = round(
        before
        * 0.055
        * math.exp(0.2 * _effect(kommun, "moves") + 0.05 * _noise(kommun, "moves", year))
    )
    out = max(out, -domestic_net + round(before * 0.01))
    return {
        "in": out + domestic_net + immigration,
        "out": out + emigration,
        "immigration": immigration,
        "emigration": emigration,
        "net": net,
        "immigration_net": immigration - emigration,
        "domestic_in": out + domestic_net,
        "domestic_out": out,
        "domestic_net": domestic_net,
    }


_FLOW_CONTENTS = {
    "BE0101AU": "in", "BE0101AV": "out", "BE0101AX": "immigration", "BE0101AY": "emigration",
    "BE0101AZ": "net", "BE0101A1": "immigration_net", "BE0101A2": "domestic_in",
    "BE0101A3": "domestic_out", "BE0101A4": "domestic_net",
    "0000086B": "in", "0000086F": "out", "00000869": "immigration", "00000867": "emigration",
    "00000868": "net", "0000086A": "immigration_net", "0000086D": "domestic_in",
    "0000086E": "domestic_out", "0000086C": "domestic_net",
}  # fmt: skip


def _flow(kommun: str, selection: _Selection) -> float:
    value = float(_flows(kommun, selection.year)[_FLOW_CONTENTS[selection.content]])
    if selection.ages is not None:
        value *= _age_mean("moving", *_band(selection)) * age_share(*selection.ages)
    if selection.sex is not None:
        value *= 0.51 if selection.sex == "1" else 0.49
    return value * selection.other_share


# Dwellings completed per 1000 inhabitants in Sweden, roughly, by year (interpolated).
_BUILDING = (
    (1938, 4.0), (1950, 6.5), (1965, 12.0), (1970, 13.5), (1975, 9.0), (1980, 6.0),
    (1985, 4.0), (1990, 7.5), (1993, 4.0), (1996, 1.5), (2000, 1.5), (2005, 2.5),
    (2010, 2.1), (2016, 4.2), (2018, 5.4), (2022, 5.4), (2024, 3.3), (2025, 2.4),
)  # fmt: skip


def _building(year: int) -> float:
    for (first, low), (last, high) in itertools.pairwise(_BUILDING):
        if first <= year <= last:
            return (low + (high - low) * (year - first) / (last - first)) / 1000
    return _BUILDING[0][1] / 1000 if year < _BUILDING[0][0] else _BUILDING[-1][1] / 1000


def _dwellings(kommun: str, selection: _Selection) -> float:
    """Completed dwellings (or their rooms): more where the population grows."""
    year = selection.year
    growth = math.log(population(kommun, BASE_YEAR) / population(kommun, BASE_YEAR - 10)) / 10
    # About 1 where a kommun grows as the country does (0.65 % a year).
    rate = max(0.15, 1.0 + 60 * (growth - 0.0065)) * math.exp(
        0.3 * _noise(kommun, "building", year)
    )
    total = round(population(kommun, year) * _building(year) * rate)
    flats_share = min(max(0.3 + 0.2 * _size(kommun) + 0.1 * _effect(kommun, "flats"), 0.05), 0.95)
    flats = round(total * flats_share)
    house = selection.code("house")
    counts = {"FLERBO": flats, "SMÅHUS": total - flats}
    if selection.content == "BO0101A6":
        rooms = {"FLERBO": round(2.7 * flats), "SMÅHUS": 5 * (total - flats)}
        return float(rooms.get(house or "", sum(rooms.values())))
    return float(counts.get(house or "", total))


def _labour(kommun: str, selection: _Selection) -> float:
    """Arbetsmarknadsstatus: people, the employed and unemployed among them, and rates."""
    low, high = _band(selection, 15, 74)
    people = _people(kommun, selection)
    foreign = min(max(0.2 + 0.06 * _effect(kommun, "foreign") + 0.04 * _size(kommun), 0.06), 0.45)
    birth = selection.code("birth")
    employed = _age_mean("employment", low, high) + 0.03 * _effect(kommun, "employment")
    employed += {"1": 0.01, "2": -0.01}.get(selection.sex or "", 0.0)
    employed -= 0.01 if selection.year == 2020 else 0.0
    unemployed = 0.06 * math.exp(0.3 * _effect(kommun, "unemployment"))
    unemployed *= 1.6 if high <= 24 else 1.0
    unemployed += {2020: 0.015, 2021: 0.01, 2023: 0.003, 2024: 0.008}.get(selection.year, 0.0)
    if birth == "ut":
        people *= foreign
        employed, unemployed = employed - 0.14, unemployed * 2.8
    elif birth == "in":
        people *= 1 - foreign
        employed, unemployed = employed + 0.035, unemployed * 0.7
    employed = min(max(employed, 0.01), 0.97)
    unemployed = min(max(unemployed, 0.01), 0.5)
    workforce = min(employed / (1 - unemployed), 0.99)
    outside = people * (1 - workforce)
    studying = 0.7 if high <= 24 else 0.1 if low < 60 else 0.0
    retired = 0.85 if low >= 65 else 0.25 if high >= 60 else 0.02
    sick = 0.15
    counts = {
        "000002NT": people * employed,
        "000002NM": people * (workforce - employed),
        "000002NL": people * workforce,
        "000002NR": outside * studying,
        "000002NP": outside * retired,
        "000002NQ": outside * sick,
        "000002NO": outside * max(1 - studying - retired - sick, 0.0),
        "000002NU": people,
        "000002NN": 100 * unemployed,
        "000002NK": 100 * workforce,
        "000002NS": 100 * employed,
    }
    return counts[selection.content]


def _median_income(kommun: str, selection: _Selection) -> float:
    """Median income in tkr of the cell's people: about 250–400 tkr for 20–64 in 2024."""
    value = 320 + 30 * _effect(kommun, "income") + 25 * _size(kommun)
    value += (35 if kommun[:2] == "01" else 0) + 3 * _noise(kommun, "income", selection.year)
    value = min(max(value, 250.0), 400.0) * math.exp(0.025 * (selection.year - 2024))
    value *= _age_mean("income", *_band(selection, 16, 100)) / _age_mean("income", 20, 64)
    return value * {"1": 1.1, "2": 0.9}.get(selection.sex or "", 1.0)


def _incomes(kommun: str, selection: _Selection) -> float:
    """Sammanräknad förvärvsinkomst: persons, median and mean (tkr), total (mnkr)."""
    median = _median_income(kommun, selection)
    low, high = _band(selection, 16, 100)
    persons = _people_at(kommun, selection) * age_share(low, high) * _sex_share(kommun, selection)
    income_class = selection.code("income")
    mean = median * 1.12
    if income_class is not None:
        persons *= _class_share(income_class, median, low)
        bounds = _class_bounds(income_class)
        median = mean = 0.0 if bounds is None else (bounds[0] + min(bounds[1], 1_500.0)) / 2
    values = {"HE0110J7": mean, "HE0110J8": median, "HE0110J9": persons,
              "HE0110J0": persons * mean / 1000}  # fmt: skip
    return values[selection.content] * (
        selection.other_share if selection.content in ("HE0110J9", "HE0110J0") else 1.0
    )


def _class_bounds(code: str) -> tuple[float, float] | None:
    """An income class's tkr: ``1-19`` → (1, 20), ``1000+`` → (1000, inf), ``0`` → None."""
    found = re.fullmatch(r"(\d+)(?:-(\d+)|(\+))?", code)
    if found is None or code == "0":
        return None
    low = float(found.group(1))
    if found.group(3):
        return low, math.inf
    return low, float(found.group(2) or low) + 1


@functools.lru_cache(maxsize=65_536)
def _class_share(code: str, median: float, low_age: int) -> float:
    """The share of people in an income class: some with none, the rest log-normal."""
    none = 0.25 if low_age < 20 else 0.04
    bounds = _class_bounds(code)
    if bounds is None:
        return none
    normal = NormalDist(math.log(max(median, 1.0)), 0.55)
    low, high = bounds
    upper = 1.0 if math.isinf(high) else normal.cdf(math.log(high))
    return (1 - none) * (upper - normal.cdf(math.log(max(low, 0.5))))


def _education(kommun: str, selection: _Selection) -> float:
    """Befolkning 16–74 år by education level: more with higher education in cities."""
    low, high = _band(selection, 16, 74)
    people = _people_at(kommun, selection) * age_share(low, high) * _sex_share(kommun, selection)
    level = selection.code("education")
    if level is None:
        return people * selection.other_share
    higher = math.exp(0.25 * _effect(kommun, "education") + 0.15 * _size(kommun))
    shares = {code: _age_mean(f"education|{code}", low, high) for code in _EDUCATION[64]}
    for code in ("5", "6", "7"):
        shares[code] *= higher
    return people * shares.get(level, 0.0) / sum(shares.values()) * selection.other_share


# Emissions per inhabitant and year, in tonnes (CO2-equivalents for HFC, PFC, SF6).
_EMISSIONS = {"GHG": 5.0, "CO2": 3.6, "CO2bio": 2.0, "SO2": 0.0008, "NOX": 0.012,
              "CH4": 0.025, "CO": 0.02, "N2O": 0.0015, "NH3": 0.006, "NMVOC": 0.009,
              "PM10": 0.0022, "PM25": 0.0012, "TSP": 0.004, "HFC": 0.08, "PFC": 0.002,
              "SF6": 0.006}  # fmt: skip
_KILOTONNES = {"GHG", "CO2", "CO2bio"}


def _emissions(kommun: str, selection: _Selection) -> float:
    """Utsläpp till luft: per inhabitant more in the countryside, falling over the years."""
    substance = selection.code("substance") or "GHG"
    per_head = _EMISSIONS.get(substance, 0.01)
    per_head *= math.exp(0.35 * _effect(kommun, f"emissions|{substance}") - 0.25 * _size(kommun))
    per_head *= math.exp(
        -0.025 * (selection.year - 2015) + 0.05 * _noise(kommun, "emissions", selection.year)
    )
    value = population(kommun, selection.year) * per_head
    return value / 1000 if substance in _KILOTONNES else value


def _generic(kommun: str, selection: _Selection) -> float:
    """Any other content: a count per inhabitant, or a level of its own, per series."""
    seed = _bits(f"{selection.table}|{selection.content}")
    if selection.generic_sum:
        rate = 0.001 * 50 ** ((seed & 0xFFFF) / 0xFFFF)
        value = _people(kommun, selection) * rate
    else:
        value = 1000 ** ((seed & 0xFFFF) / 0xFFFF)
    effect = 0.3 * _effect(kommun, f"generic|{seed}") + 0.05 * _noise(
        kommun, f"generic|{seed}", selection.year
    )
    return value * math.exp(effect)


# Content code → (kind, model). "people", "change", "flow", "dwellings" and the counts
# of the labour, income and education tables are sums; the others means.
_GENERIC: tuple[str, Callable[[str, _Selection], float]] = ("generic", _generic)
_MODELS: dict[str, tuple[str, Callable[[str, _Selection], float]]] = {
    "BE0101N1": ("people", _people), "000007ME": ("people", _people),
    "000007SF": ("people", _people), "BE0101N2": ("change", _change),
    "BE0101G9": ("mean_age", _mean_age),
    **{code: ("flow", _flow) for code in _FLOW_CONTENTS},
    "BO0101A5": ("dwellings", _dwellings), "BO0101A6": ("dwellings", _dwellings),
    **{code: ("labour_count", _labour) for code in (
        "000002NT", "000002NM", "000002NL", "000002NR", "000002NP", "000002NQ", "000002NO",
        "000002NU")},
    **{code: ("labour_rate", _labour) for code in ("000002NN", "000002NK", "000002NS")},
    "HE0110J7": ("income_level", _incomes), "HE0110J8": ("income_level", _incomes),
    "HE0110J0": ("income_count", _incomes), "HE0110J9": ("income_count", _incomes),
    "UF0506A1": ("education", _education), "000000KY": ("emissions", _emissions),
}  # fmt: skip
_IS_SUM = {
    "people": True, "change": True, "mean_age": False, "flow": True, "dwellings": True,
    "labour_count": True, "labour_rate": False, "income_level": False, "income_count": True,
    "education": True, "emissions": True, "generic": True,
}  # fmt: skip


def _bits(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
