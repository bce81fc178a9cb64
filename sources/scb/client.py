"""SCB PxWebApi 2.0 transport: ``/config`` limits, the shared call limiter, metadata,
codelists and data calls (selections are resolved and split by ``planning.py``).

Every request carries a label (``scb_config``, ``scb_tables``, ``scb_metadata``,
``scb_codelist``, ``scb_data`` plus the table) for the raw landing.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sources.http import (
    FetchError,
    HttpClient,
    Response,
    SlidingWindowLimiter,
    json_problem,
    unreadable_answer,
)
from sources.scb import settings
from sources.scb.planning import (
    Resolved,
    Selection,
    data_request_body,
    plan_data_calls,
    resolve_selection,
    selection_codelists,
)
from transforms.scb import jsonstat_codes


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


class ScbResponseError(FetchError):
    """An SCB answer with a success status that is not a whole JSON object (an HTML
    page, a body cut off): never retried, and it fails the run."""


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
                body = self._get_json("/config", {}, label={"kind": "scb_config"})
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
            body = self._get_json("/tables", params, label={"kind": "scb_tables"})
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
                    label={"kind": "scb_metadata", "table": table_id},
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
                    f"/codelists/{codelist_id}",
                    {"lang": settings.LANG},
                    label={"kind": "scb_codelist", "codelist": codelist_id},
                )
                self._codelists[codelist_id] = cached
            return cached

    def resolve(self, table_id: str, selection: Selection) -> Resolved:
        """The selection as explicit codes per variable, checked against the metadata."""
        metadata = self.table_metadata(table_id)
        codelists = {cl: self.codelist(cl) for cl in selection_codelists(selection).values()}
        return resolve_selection(metadata, selection, codelists)

    def fetch_table(
        self, table_id: str, selection: Selection, *, tag: Mapping[str, Any] | None = None
    ) -> list[Response]:
        """POST the selection in as few data calls as the cell limit allows.

        ``tag`` (e.g. the plan series a call is for) goes into each call's label.
        """
        config = self.config()
        resolved = self.resolve(table_id, selection)
        codelists = selection_codelists(selection)
        responses = []
        for part in plan_data_calls(resolved, config.max_data_cells):
            body = data_request_body(part, codelists)
            try:
                response = self.http.post_json(
                    self._url(f"/tables/{table_id}/data"),
                    body,
                    params={"lang": settings.LANG, "outputFormat": settings.DATA_FORMAT},
                    label={"kind": "scb_data", "table": table_id, **(tag or {})},
                )
            except FetchError as exc:
                metadata = self._metadata.get(table_id)
                raise _api_error(exc, table_id, part, metadata, codelists) from exc
            # Parsed here only to be checked: the answers are landed and parsed later,
            # too late to say which call brought a broken one.
            _json_object(response)
            responses.append(response)
        return responses

    # -- plumbing ------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _get_json(self, path: str, params: dict[str, Any], *, label: dict[str, Any]) -> Any:
        try:
            response = self.http.get(self._url(path), params=params, label=label)
        except FetchError as exc:
            raise _api_error(exc, label.get("table"), None, None, {}) from exc
        return _json_object(response)


def _json_object(response: Response) -> dict[str, Any]:
    """The JSON object an SCB answer holds (every endpoint answers one), or
    ``ScbResponseError`` naming the call and what is wrong with the body."""
    try:
        document = json.loads(response.body)
    except ValueError as exc:  # UnicodeDecodeError included
        problem = json_problem(response.body, exc)
    else:
        if isinstance(document, dict):
            return document
        problem = f"JSON {type(document).__name__}, not an object"
    raise ScbResponseError(
        unreadable_answer(response, "SCB JSON", problem),
        url=response.url,
        status=response.status,
        body=response.body,
    )


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
            existing = set(jsonstat_codes(metadata["dimension"][name]))
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
