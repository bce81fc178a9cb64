"""What the plan-writing commands look up, and where from: Kolada's catalogue (the
warehouse's copy, else Kolada), SCB's tables (SCB, else the cache of earlier answers)
and the run log. Each says on stderr which it used."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from flows import settings
from flows.cli_render import note

if TYPE_CHECKING:
    from sources.scb.table_cache import Cached, TableCache
    from transforms.catalogue import Catalogue

T = TypeVar("T")
TABLE_ID = re.compile(r"TAB\d+", re.IGNORECASE)


class LookupInputError(ValueError):
    """Bad input to a lookup (an unknown run or table): exit 2."""


# -- Kolada's catalogue -------------------------------------------------------------------


def warehouse_copy(path: Path) -> Catalogue | None:
    """The warehouse's last catalogue, or None when it has none."""
    # Read here rather than through flows.preflight: importing the pipeline (and every
    # source it registers) would cost `malbild kpis` a third of its time.
    if not path.exists():
        return None
    from warehouse import queries
    from warehouse.connection import open_warehouse

    with open_warehouse(path, read_only=True) as con:
        return queries.read_catalogue(con)


def load_catalogue(warehouse: Path | None) -> Catalogue:
    """The warehouse's catalogue when it has one, else a fresh one from Kolada; says which."""
    path = warehouse or settings.default_warehouse_path()
    catalogue = warehouse_copy(path)
    if catalogue is not None:
        note(f"Katalog: lagrets kopia i {path}")
        return catalogue
    from sources.http import UnreachableError, probe
    from sources.kolada import settings as kolada_settings
    from sources.kolada.series import fetch_catalogue

    url = kolada_settings.base_url()
    try:
        # A 3-second probe first: without network the answer comes at once, not after
        # the HTTP client's retries.
        probe(url)
        catalogue = fetch_catalogue(None)
    except UnreachableError as exc:
        raise UnreachableError(f"{path} holds no catalogue, and {exc}", url=exc.url) from exc
    note(f"Katalog: hämtad från Kolada ({url}); {path} har ingen kopia")
    return catalogue


# -- SCB's tables -------------------------------------------------------------------------


@dataclass(frozen=True)
class ScbAnswer:
    """What `malbild tables` shows, and whether it came from the cache."""

    body: Any
    cached: Cached | None = None


def is_table_id(text: str) -> bool:
    return TABLE_ID.fullmatch(text.strip()) is not None


def table_cache(cache_dir: Path | None, warehouse: Path | None) -> TableCache:
    from sources.scb.table_cache import TableCache, default_cache_dir

    return TableCache(
        cache_dir or default_cache_dir(warehouse or settings.default_warehouse_path())
    )


def _ask_scb(
    ask: Callable[[], T], fallback: Callable[[], Cached | None], missing: str
) -> ScbAnswer:
    """SCB's answer; when SCB cannot be reached, the fallback's, said on stderr."""
    from sources.http import FetchError, UnreachableError
    from sources.scb import settings as scb_settings
    from sources.scb.client import ScbApiError

    try:
        from sources.http import probe

        probe(scb_settings.base_url())
        return ScbAnswer(ask())
    except ScbApiError as exc:
        if exc.status in (400, 404):
            raise LookupInputError(str(exc)) from exc
        error: FetchError = exc
    except FetchError as exc:
        error = exc
    cached = fallback()
    if cached is None:
        raise UnreachableError(f"{error}; {missing}", url=error.url) from error
    fetched = f"{cached.fetched_at.astimezone():%Y-%m-%d %H:%M}"
    note(f"SCB kunde inte nås: svar från cachen, hämtat {fetched} ({cached.origin})", "yellow")
    return ScbAnswer(cached.body, cached)


def scb_table(table_id: str, cache: TableCache, warehouse: Path | None) -> ScbAnswer:
    """A table's metadata from SCB (kept in the cache), else from the cache or a landing."""
    from sources.scb.client import ScbClient
    from sources.scb.table_cache import landed_metadata

    table_id = table_id.strip().upper()

    def ask() -> Any:
        metadata = ScbClient().table_metadata(table_id)
        cache.save_metadata(table_id, metadata)
        return metadata

    def fallback() -> Cached | None:
        raw_dir = settings.default_raw_dir(warehouse or settings.default_warehouse_path())
        return cache.load_metadata(table_id) or landed_metadata(raw_dir, table_id)

    return _ask_scb(ask, fallback, f"{table_id} is not in the SCB cache {cache.root}")


def scb_search(text: str, cache: TableCache) -> ScbAnswer:
    """SCB's tables for a search (kept), else the cache's answer, else cached tables."""
    from sources.scb.client import ScbClient
    from sources.scb.table_cache import Cached, fold

    def ask() -> Any:
        tables = ScbClient().search_tables(text)
        cache.save_search(text, tables)
        return tables

    def fallback() -> Cached | None:
        exact = cache.load_search(text)
        if exact is not None:
            return exact
        known = cache.cached_tables()
        if known is None:
            return None
        words = fold(text).split()
        found = [
            table
            for table in known.body
            if all(
                word in fold(f"{table.get('id', '')} {table.get('label', '')}") for word in words
            )
        ]
        origin = f"sökt bland {len(known.body)} tabeller i {cache.root}"
        return Cached(found, known.fetched_at, origin) if found else None

    return _ask_scb(ask, fallback, f"no answer for {text!r} in the SCB cache {cache.root}")


# -- the run log ----------------------------------------------------------------------------


def read_run_log(warehouse: Path | None) -> tuple[list[dict[str, Any]], Path]:
    """Every run of the warehouse's log, newest first."""
    from warehouse import queries
    from warehouse.connection import open_warehouse

    path = warehouse or settings.default_warehouse_path()
    # The log has one row per run (a few thousand in years): read whole, so the table can
    # say how many it leaves out.
    with open_warehouse(path, read_only=True) as con:
        runs = queries.read_runs(con, limit=2**31 - 1).to_dicts()
    return runs, path


def find_run(warehouse: Path | None, prefix: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The run whose id is (or starts with) ``prefix``, and its raw.response rows."""
    from warehouse import queries
    from warehouse.connection import open_warehouse

    runs, path = read_run_log(warehouse)
    matches = [run for run in runs if run["run_id"] == prefix] or [
        run for run in runs if str(run["run_id"]).startswith(prefix)
    ]
    if not matches:
        raise LookupInputError(f"{path}: no run {prefix!r} in the run log (`malbild runs`)")
    if len(matches) > 1:
        shown = ", ".join(run["run_id"] for run in matches[:5])
        more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
        raise LookupInputError(
            f"{prefix!r} starts {len(matches)} run ids ({shown}{more}): give more of it"
        )
    with open_warehouse(path, read_only=True) as con:
        responses = queries.read_responses_for_run(con, matches[0]["run_id"]).to_dicts()
    return matches[0], responses
