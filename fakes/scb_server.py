"""A fake SCB PxWebApi 2.0 on 127.0.0.1 for tests, ``malbild demo`` and benchmarks.

Serves the tables in ``fakes/data/scb/`` (see its README: real recorded metadata, the
Region lists widened to every area, and recorded data answers). A data call answers
any selection over a table's metadata: cells found in a recording keep the recorded
value and status; every other cell is a deterministic SYNTHETIC sample value, and the
answer says so in its ``note``.

It enforces what the live service does: the ``/config`` limits (cells per call, calls
per sliding window per client address, answered with 429 and ``Retry-After``), and
problem+json refusals (404 "Non-existent table", 400 "Non-existent variable",
"Non-existent value", "Too many cells selected", …). Every request is logged.

    with FakeScbServer(max_data_cells=1000, max_calls=3, window=1.0) as scb:
        client = ScbClient(scb.base_url)
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

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
    ):
        self.max_data_cells = max_data_cells
        self.max_calls = max_calls
        self.window = window
        self.latency = latency
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
        for i, combo in enumerate(itertools.product(*(chosen[v][0] for v in ids))):
            value, symbol = self._cell(table_id, table, dict(zip(ids, combo, strict=True)))
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
        return _synthetic(table_id, table, cell)


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


def _synthetic(table_id: str, table: _Table, cell: dict[str, str]) -> Cell:
    """A deterministic sample value: a level per series, a gentle trend over the years."""
    time_vars = (table.metadata.get("role") or {}).get("time", [])
    series = "|".join(f"{k}={v}" for k, v in sorted(cell.items()) if k not in time_vars)
    seed = int.from_bytes(hashlib.sha256(f"{table_id}|{series}".encode()).digest()[:8], "big")
    period = next((cell[v] for v in time_vars if v in cell), "2000")
    year = int(period[:4]) if period[:4].isdigit() else 2000
    noise = int.from_bytes(hashlib.sha256(f"{seed}|{period}".encode()).digest()[:2], "big")
    if noise % 97 == 0:
        return None, ".."
    level = 1_000 + seed % 60_000
    trend = 1 + ((seed >> 20) % 5 - 1) / 100
    return float(round(level * trend ** (year - 2000) + noise % 50)), None
