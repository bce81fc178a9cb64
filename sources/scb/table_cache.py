"""SCB's answers to `malbild tables`, kept on disk so the command can answer offline.

Each ``/tables/{id}/metadata`` answer and each search's tables are stored as JSON under
one folder (``<warehouse dir>/scb-cache/`` by default), with when they were fetched.
Table metadata a refresh landed (``sources.landing``) serves as a second source.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sources.landing import RawStore

CACHE_DIR_NAME = "scb-cache"
METADATA_KIND = "scb_metadata"
_TABLE_ID = re.compile(r"[A-Za-z0-9_]+")


@dataclass(frozen=True)
class Cached:
    """An answer as kept: the body, when SCB gave it, and where it was kept."""

    body: Any
    fetched_at: datetime
    origin: str


def default_cache_dir(warehouse_path: Path) -> Path:
    """`scb-cache/` beside the warehouse file."""
    return warehouse_path.parent / CACHE_DIR_NAME


def fold(text: str) -> str:
    """Lower case, no diacritics, single spaces: the form a search is cached under."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.lower().split())


class TableCache:
    """SCB metadata and search answers as JSON files under one folder."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def save_metadata(self, table_id: str, body: Any, fetched_at: datetime | None = None) -> None:
        self._write(self._metadata_path(table_id), {"table": table_id}, body, fetched_at)

    def load_metadata(self, table_id: str) -> Cached | None:
        return self._read(self._metadata_path(table_id))

    def save_search(self, text: str, tables: list[Any], fetched_at: datetime | None = None) -> None:
        self._write(self._search_path(text), {"query": fold(text)}, tables, fetched_at)

    def load_search(self, text: str) -> Cached | None:
        return self._read(self._search_path(text))

    def cached_tables(self) -> Cached | None:
        """Every table the cache knows, for a search it has not seen (oldest fetched_at)."""
        entries: dict[str, tuple[datetime, Any]] = {}

        def keep(entry: Any, when: datetime) -> None:
            table_id = entry.get("id") if isinstance(entry, dict) else None
            if table_id and (table_id not in entries or entries[table_id][0] < when):
                entries[table_id] = (when, entry)

        for path in sorted((self.root / "search").glob("*.json")):
            found = self._read(path)
            if found and isinstance(found.body, list):
                for entry in found.body:
                    keep(entry, found.fetched_at)
        for path in sorted((self.root / "metadata").glob("*.json")):
            found = self._read(path)
            if found and isinstance(found.body, dict) and table_id_of(path):
                keep(table_entry(table_id_of(path), found.body), found.fetched_at)
        if not entries:
            return None
        oldest = min(when for when, _ in entries.values())
        return Cached([entry for _, entry in entries.values()], oldest, str(self.root))

    def _metadata_path(self, table_id: str) -> Path:
        if not _TABLE_ID.fullmatch(table_id):
            raise ValueError(f"not an SCB table id: {table_id!r}")
        return self.root / "metadata" / f"{table_id.upper()}.json"

    def _search_path(self, text: str) -> Path:
        digest = hashlib.sha256(fold(text).encode("utf-8")).hexdigest()[:32]
        return self.root / "search" / f"{digest}.json"

    def _write(
        self, path: Path, key: dict[str, str], body: Any, fetched_at: datetime | None
    ) -> None:
        when = (fetched_at or datetime.now(UTC)).isoformat()
        document = json.dumps({**key, "fetched_at": when, "body": body}, ensure_ascii=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed, so a reader never sees half a file.
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(document)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def _read(self, path: Path) -> Cached | None:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            fetched_at = datetime.fromisoformat(document["fetched_at"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or damaged: as good as not cached
        return Cached(document.get("body"), fetched_at, str(path))


def table_id_of(path: Path) -> str:
    return path.stem if _TABLE_ID.fullmatch(path.stem) else ""


def table_entry(table_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """A `/tables` search entry made from a table's metadata (id, label, updated)."""
    return {"id": table_id, "label": metadata.get("label"), "updated": metadata.get("updated")}


def landed_metadata(raw_dir: Path, table_id: str) -> Cached | None:
    """The newest metadata of the table that a refresh landed in ``raw_dir``, if any."""
    store = RawStore(raw_dir)
    for run_id in reversed(store.run_ids()):
        for row in reversed(store.manifest(run_id)):
            tag = row.get("tag") or {}
            if row.get("kind") != METADATA_KIND or tag.get("table") != table_id:
                continue
            if row.get("status") != 200 or not store.has(row["content_hash"]):
                continue
            try:
                body = json.loads(store.read_body(row["content_hash"]))
                fetched_at = datetime.fromisoformat(row["fetched_at"])
            except (OSError, ValueError):
                continue
            return Cached(body, fetched_at, f"landningen av körning {run_id}")
    return None
