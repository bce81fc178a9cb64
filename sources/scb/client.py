"""SCB PxWebApi 2.0 client: ``/config`` limits, selection resolution and cell-limit splitting.

A selection maps a variable code to what to take from it::

    {"Region": {"codelist": "vs_RegionKommun07", "values": ["*"]},
     "ContentsCode": "BE0101N1", "Tid": "FROM(2015)", "Kon": ["1", "2"]}

A value is a code, an expression (``*``, ``01*``, ``*01``, ``01??``, ``TOP(n[,offset])``,
``BOTTOM(n[,offset])``, ``FROM(x)``, ``TO(x)``, ``RANGE(x,y)``) or a list of them. A variable
left out is eliminated (SCB answers with its total) when the metadata allows it.

The selection is resolved here against the table's metadata, so a misspelt code fails
before any data call and the cells of every call can be counted exactly.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sources.http import FetchError, HttpClient, Response, SlidingWindowLimiter
from sources.scb import settings

Selection = Mapping[str, Any]
Resolved = dict[str, list[str]]


class ScbSelectionError(ValueError):
    """A selection that names a variable, codelist or value the table does not have."""


class ScbApiError(FetchError):
    """SCB refused a request with a problem+json body (400/403/404): never retried."""

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status: int | None,
        body: bytes,
        title: str,
        table_id: str | None,
        variable: str | None = None,
        value: str | None = None,
        detail: str | None = None,
    ):
        super().__init__(message, url=url, status=status, body=body)
        self.title = title
        self.table_id = table_id
        self.variable = variable
        self.value = value
        self.detail = detail


@dataclass(frozen=True)
class ScbConfig:
    """The limits SCB announces at ``/config``."""

    max_data_cells: int
    max_calls_per_window: int
    time_window: float

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ScbConfig:
        try:
            config = cls(
                max_data_cells=int(body["maxDataCells"]),
                max_calls_per_window=int(body["maxCallsPerTimeWindow"]),
                time_window=float(body["timeWindow"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"SCB /config lacks a usable limit ({exc!r}): {body!r}") from None
        if config.max_data_cells < 1 or config.max_calls_per_window < 1 or config.time_window <= 0:
            raise ValueError(f"SCB /config gives impossible limits: {config}")
        return config


# SCB counts calls per IP address, so every ScbClient in the process shares this one
# limiter unless a test passes its own. It starts at the bootstrap limit and is
# reconfigured from ``/config`` by the first client that reads it.
_SHARED_LIMITER = SlidingWindowLimiter(settings.BOOTSTRAP_CALLS, settings.BOOTSTRAP_WINDOW_SECONDS)


def shared_limiter() -> SlidingWindowLimiter:
    """The process-wide limiter every SCB call goes through."""
    return _SHARED_LIMITER


class ScbClient:
    """Reads SCB tables; every call, metadata included, passes the shared window limiter."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        http: HttpClient | None = None,
        limiter: SlidingWindowLimiter | None = None,
    ):
        self.base_url = (base_url or settings.base_url()).rstrip("/")
        self.limiter = limiter if limiter is not None else shared_limiter()
        if http is None:
            http = HttpClient(limiter=self.limiter)
        elif http.limiter is None:
            # An HttpClient built without a limiter (the flows' raw-landing client) gets
            # SCB's; one throttled for another service would let SCB calls escape it.
            http.limiter = self.limiter
        elif http.limiter is not self.limiter:
            raise ValueError(
                "the HttpClient given to ScbClient must have no limiter or SCB's shared "
                "SlidingWindowLimiter: SCB limits calls per IP address"
            )
        self.http = http
        self._config: ScbConfig | None = None
        self._metadata: dict[str, dict[str, Any]] = {}
        self._codelists: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._cache_lock = threading.Lock()

    # -- endpoints -----------------------------------------------------------------

    def config(self) -> ScbConfig:
        """``/config``, read once per client; adopts its call limit in the limiter."""
        with self._lock:
            if self._config is None:
                body = self._get_json("/config", {}, table_id=None)
                config = ScbConfig.from_body(body)
                self.limiter.reconfigure(
                    config.max_calls_per_window,
                    config.time_window + settings.WINDOW_MARGIN_SECONDS,
                )
                self._config = config
            return self._config

    def search_tables(self, text: str) -> list[dict[str, Any]]:
        """Every table ``/tables?query=`` finds, all pages followed."""
        self.config()
        tables: list[dict[str, Any]] = []
        page = 1
        while True:
            params = {
                "query": text,
                "lang": settings.LANG,
                "pageSize": settings.TABLES_PAGE_SIZE,
                "pageNumber": page,
            }
            body = self._get_json("/tables", params, table_id=None)
            found = body.get("tables") or []
            tables.extend(found)
            total_pages = int((body.get("page") or {}).get("totalPages") or 1)
            if not found or page >= total_pages:
                return tables
            page += 1

    def table_metadata(self, table_id: str) -> dict[str, Any]:
        """The table's JSON-stat 2 metadata, fetched once per client."""
        self.config()
        with self._cache_lock:
            cached = self._metadata.get(table_id)
            if cached is None:
                cached = self._get_json(
                    f"/tables/{table_id}/metadata",
                    {"lang": settings.LANG, "outputFormat": settings.DATA_FORMAT},
                    table_id=table_id,
                )
                self._metadata[table_id] = cached
            return cached

    def codelist(self, codelist_id: str) -> dict[str, Any]:
        """One ``/codelists/{id}`` answer (values with codes and labels), fetched once."""
        self.config()
        with self._cache_lock:
            cached = self._codelists.get(codelist_id)
            if cached is None:
                cached = self._get_json(
                    f"/codelists/{codelist_id}", {"lang": settings.LANG}, table_id=None
                )
                self._codelists[codelist_id] = cached
            return cached

    def resolve(self, table_id: str, selection: Selection) -> Resolved:
        """The selection as explicit codes per variable, checked against the metadata."""
        metadata = self.table_metadata(table_id)
        codelists = {cl: self.codelist(cl) for cl in selection_codelists(selection).values()}
        return resolve_selection(metadata, selection, codelists)

    def fetch_table(self, table_id: str, selection: Selection) -> list[Response]:
        """POST the selection in as few data calls as the cell limit allows."""
        config = self.config()
        resolved = self.resolve(table_id, selection)
        codelists = selection_codelists(selection)
        responses = []
        for part in plan_data_calls(resolved, config.max_data_cells):
            body = data_request_body(part, codelists)
            try:
                responses.append(
                    self.http.post_json(
                        self._url(f"/tables/{table_id}/data"),
                        body,
                        params={"lang": settings.LANG, "outputFormat": settings.DATA_FORMAT},
                    )
                )
            except FetchError as exc:
                metadata = self._metadata.get(table_id)
                raise _api_error(exc, table_id, part, metadata, codelists) from exc
        return responses

    # -- plumbing ------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _get_json(self, path: str, params: dict[str, Any], *, table_id: str | None) -> Any:
        try:
            response = self.http.get(self._url(path), params=params)
        except FetchError as exc:
            raise _api_error(exc, table_id, None, None, {}) from exc
        try:
            return json.loads(response.body)
        except ValueError:
            raise FetchError(
                f"GET {response.url} answered with a body that is not JSON",
                url=response.url,
                status=response.status,
                body=response.body,
            ) from None


# -- selections (pure) --------------------------------------------------------------

_COUNT_EXPR = re.compile(r"^(TOP|BOTTOM)\((\d+)(?:,(\d+))?\)$", re.IGNORECASE)
_ONE_CODE_EXPR = re.compile(r"^(FROM|TO)\((.+)\)$", re.IGNORECASE)
_RANGE_EXPR = re.compile(r"^RANGE\(([^,]+),([^,]+)\)$", re.IGNORECASE)


def table_id_of(metadata: Mapping[str, Any]) -> str:
    """The table id a metadata (or data) answer describes."""
    px = (metadata.get("extension") or {}).get("px") or {}
    return str(px.get("tableid") or px.get("matrix") or "?")


def dimension_codes(dimension: Mapping[str, Any]) -> list[str]:
    """A JSON-stat dimension's category codes in index order (never key order)."""
    index = dimension["category"]["index"]
    if isinstance(index, list):
        return [str(code) for code in index]
    return [code for code, _ in sorted(index.items(), key=lambda item: item[1])]


def selection_codelists(selection: Selection) -> dict[str, str]:
    """Variable → codelist id, for the variables selected through a codelist."""
    return {
        variable: str(spec["codelist"])
        for variable, spec in selection.items()
        if isinstance(spec, Mapping) and spec.get("codelist")
    }


def resolve_selection(
    metadata: Mapping[str, Any],
    selection: Selection,
    codelists: Mapping[str, Mapping[str, Any]] | None = None,
) -> Resolved:
    """Expand every expression to explicit codes, in the table's (or codelist's) order.

    ``codelists`` holds the ``/codelists/{id}`` answers the selection refers to.
    Eliminated variables (left out, and eliminable) are absent from the result.
    """
    table = table_id_of(metadata)
    variables: list[str] = list(metadata["id"])
    by_folded = {v.casefold(): v for v in variables}
    time_variables = set((metadata.get("role") or {}).get("time") or [])

    wanted: dict[str, Any] = {}
    for name, spec in selection.items():
        variable = name if name in variables else by_folded.get(name.casefold())
        if variable is None:
            raise ScbSelectionError(
                f"{table}: variable {name!r} does not exist; the table has {', '.join(variables)}"
            )
        wanted[variable] = spec

    resolved: Resolved = {}
    for variable in variables:
        dimension = metadata["dimension"][variable]
        if variable not in wanted:
            if not (dimension.get("extension") or {}).get("elimination", False):
                raise ScbSelectionError(
                    f"{table}: variable {variable!r} cannot be eliminated and must be selected"
                )
            continue
        spec = wanted[variable]
        if isinstance(spec, Mapping):
            codelist_id = spec.get("codelist")
            values = spec.get("values", spec.get("valueCodes", "*"))
        else:
            codelist_id, values = None, spec
        if codelist_id:
            codes = _codelist_codes(table, variable, dimension, str(codelist_id), codelists)
        else:
            codes = dimension_codes(dimension)
        items = [values] if isinstance(values, str) else list(values)
        if not items:
            raise ScbSelectionError(f"{table}: variable {variable!r} has an empty selection")
        is_time = variable in time_variables
        picked: set[str] = set()
        for item in items:
            picked.update(_expand(table, variable, codes, str(item).strip(), is_time))
        resolved[variable] = [code for code in codes if code in picked]
    return resolved


def _codelist_codes(
    table: str,
    variable: str,
    dimension: Mapping[str, Any],
    codelist_id: str,
    codelists: Mapping[str, Mapping[str, Any]] | None,
) -> list[str]:
    offered = [cl.get("id") for cl in (dimension.get("extension") or {}).get("codelists") or []]
    if codelist_id not in offered:
        raise ScbSelectionError(
            f"{table}: variable {variable!r} has no codelist {codelist_id!r}; it offers "
            f"{', '.join(str(cl) for cl in offered) or 'none'}"
        )
    if codelists is None or codelist_id not in codelists:
        raise ValueError(f"codelist {codelist_id!r} must be fetched before resolving")
    return [str(value["code"]) for value in codelists[codelist_id].get("values") or []]


def _expand(table: str, variable: str, codes: list[str], item: str, is_time: bool) -> list[str]:
    """The codes one value or expression selects."""
    upper = item.upper()
    if item == "*":
        return list(codes)
    if "*" in item:
        core = item.strip("*").casefold()
        if item.count("*") > 2 or "*" in item.strip("*"):
            raise _illegal(table, variable, item)
        if item.startswith("*") and item.endswith("*"):
            found = [c for c in codes if core in c.casefold()]
        elif item.startswith("*"):
            found = [c for c in codes if c.casefold().endswith(core)]
        else:
            found = [c for c in codes if c.casefold().startswith(core)]
        return _nonempty(table, variable, item, found)
    if "?" in item:
        pattern = re.compile("^" + re.escape(item).replace(r"\?", ".") + "$", re.IGNORECASE)
        return _nonempty(table, variable, item, [c for c in codes if pattern.match(c)])
    if upper.startswith(("TOP(", "BOTTOM(")) and not _COUNT_EXPR.match(item):
        raise _illegal(table, variable, item)
    if match := _COUNT_EXPR.match(item):
        count, offset = int(match.group(2)), int(match.group(3) or 0)
        if count < 1:
            raise _illegal(table, variable, item)
        # SCB keeps time ascending, so TOP means the latest periods there and the
        # first values elsewhere (PxWebApi's reference implementation does the same).
        from_end = (match.group(1).upper() == "TOP") == is_time
        ordered = list(reversed(codes)) if from_end else codes
        return ordered[offset : offset + count]
    if upper.startswith(("FROM(", "TO(")):
        one = _ONE_CODE_EXPR.match(item)
        if one is None:
            raise _illegal(table, variable, item)
        at = _position(table, variable, codes, one.group(2).strip())
        return codes[at:] if one.group(1).upper() == "FROM" else codes[: at + 1]
    if upper.startswith("RANGE("):
        pair = _RANGE_EXPR.match(item)
        if pair is None:
            raise _illegal(table, variable, item)
        first = _position(table, variable, codes, pair.group(1).strip())
        last = _position(table, variable, codes, pair.group(2).strip())
        first, last = min(first, last), max(first, last)
        return codes[first : last + 1]
    return [codes[_position(table, variable, codes, item)]]


def _position(table: str, variable: str, codes: list[str], code: str) -> int:
    if code in codes:
        return codes.index(code)
    folded = [c.casefold() for c in codes]
    if code.casefold() in folded:
        return folded.index(code.casefold())
    sample = ", ".join(codes[:8]) + (", …" if len(codes) > 8 else "")
    raise ScbSelectionError(
        f"{table}: value {code!r} does not exist in variable {variable!r} "
        f"({len(codes)} values: {sample})"
    )


def _nonempty(table: str, variable: str, item: str, found: list[str]) -> list[str]:
    if not found:
        raise ScbSelectionError(f"{table}: {item!r} matches no value of variable {variable!r}")
    return found


def _illegal(table: str, variable: str, item: str) -> ScbSelectionError:
    return ScbSelectionError(f"{table}: illegal selection expression {item!r} for {variable!r}")


# -- splitting (pure) ----------------------------------------------------------------


def count_cells(resolved: Mapping[str, Sequence[str]]) -> int:
    """Cells a selection asks for: the product of its value counts."""
    return math.prod(len(codes) for codes in resolved.values())


def plan_data_calls(resolved: Resolved, max_cells: int) -> list[Resolved]:
    """Split a resolved selection into the fewest calls of at most ``max_cells`` cells.

    Cutting one variable into equal chunks is tried for every variable and the one
    needing fewest calls wins (the largest on a tie): that reaches
    ``ceil(cells / max_cells)`` whenever the sizes allow. When no single variable can
    be cut finely enough, each value of the largest variable is planned on its own.
    """
    if max_cells < 1:
        raise ValueError(f"max_cells must be positive, got {max_cells}")
    if any(not codes for codes in resolved.values()):
        raise ValueError("every selected variable needs at least one value")
    cells = count_cells(resolved)
    if cells <= max_cells:
        return [dict(resolved)]

    best: tuple[int, int, str] | None = None  # (calls, -size, variable)
    for variable, codes in resolved.items():
        rest = cells // len(codes)
        per_call = max_cells // rest
        if per_call >= 1:
            candidate = (math.ceil(len(codes) / per_call), -len(codes), variable)
            best = candidate if best is None or candidate < best else best
    if best is not None:
        calls, _, variable = best
        codes = resolved[variable]
        size = math.ceil(len(codes) / calls)
        return [
            {**resolved, variable: codes[start : start + size]}
            for start in range(0, len(codes), size)
        ]

    largest = max(resolved, key=lambda v: len(resolved[v]))
    return [
        part
        for code in resolved[largest]
        for part in plan_data_calls({**resolved, largest: [code]}, max_cells)
    ]


def data_request_body(part: Mapping[str, Sequence[str]], codelists: Mapping[str, str]) -> dict:
    """The JSON body of one ``POST /tables/{id}/data``."""
    selection = []
    for variable, codes in part.items():
        entry: dict[str, Any] = {"variableCode": variable, "valueCodes": list(codes)}
        if variable in codelists:
            entry["codelist"] = codelists[variable]
        selection.append(entry)
    return {"selection": selection}


# -- errors --------------------------------------------------------------------------


def _api_error(
    exc: FetchError,
    table_id: str | None,
    part: Resolved | None,
    metadata: Mapping[str, Any] | None,
    codelists: Mapping[str, str],
) -> FetchError:
    """``ScbApiError`` from a problem+json refusal; other failures pass unchanged."""
    if exc.status not in (400, 403, 404):
        return exc
    try:
        problem = json.loads(exc.body)
    except ValueError:
        return exc
    if not isinstance(problem, dict) or not problem.get("title"):
        return exc
    title = str(problem["title"])
    detail = str(problem["detail"]) if problem.get("detail") else None
    variable, value = _fault(title, detail, part, metadata, codelists)
    where = f"table {table_id}" if table_id else exc.url
    message = f"SCB refused {where}: {title!r} (HTTP {exc.status})"
    if detail and detail != title:
        message += f": {detail}"
    if variable:
        message += f"; variable {variable!r}"
    if value:
        message += f", value {value!r}"
    if part is not None:
        message += f"; selection sent: {_describe(part)}"
    return ScbApiError(
        message,
        url=exc.url,
        status=exc.status,
        body=exc.body,
        title=title,
        table_id=table_id,
        variable=variable,
        value=value,
        detail=detail,
    )


def _fault(
    title: str,
    detail: str | None,
    part: Resolved | None,
    metadata: Mapping[str, Any] | None,
    codelists: Mapping[str, str],
) -> tuple[str | None, str | None]:
    """The variable and value a refusal is about: from the detail, else from the metadata.

    SCB's detail text is not specified (the reference server sends none for these
    titles), so a quoted or bare code in it is only trusted when it was sent.
    """
    if part is None:
        return None, None
    if detail:
        variable = next((v for v in part if re.search(rf"\b{re.escape(v)}\b", detail)), None)
        tokens = set(re.findall(r"[\w+\-?*()]+", detail))
        for name in [variable] if variable else list(part):
            value = next((c for c in part[name] if c in tokens), None)
            if value:
                return name, value
        if variable:
            return variable, None
    if metadata is not None:
        known = set(metadata.get("id") or [])
        for name, codes in part.items():
            if name not in known:
                return name, None
            if name in codelists:
                continue
            existing = set(dimension_codes(metadata["dimension"][name]))
            missing = next((c for c in codes if c not in existing), None)
            if missing is not None and "value" in title.lower():
                return name, missing
    return None, None


def _describe(part: Mapping[str, Sequence[str]]) -> str:
    shown = []
    for variable, codes in part.items():
        head = ",".join(codes[:5]) + (f",… ({len(codes)})" if len(codes) > 5 else "")
        shown.append(f"{variable}=[{head}]")
    return " ".join(shown)
