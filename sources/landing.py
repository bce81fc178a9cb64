"""Raw landing: every response body kept once, gzip-compressed, plus a manifest per run.

``root/objects/<hash[:2]>/<hash>.json.gz`` holds a body (hash = sha256 of the
uncompressed bytes); ``root/runs/<run_id>.jsonl`` has one line per response, so a
run can be replayed (``malbild rebuild``) without the network. An empty
``root/runs/<run_id>.completed`` marks a run that finished.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

_HASH = re.compile(r"[0-9a-f]{64}")
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

# The kind of an answer whose request carried no label; every client labels its own.
UNLABELLED = "other"

# The header malbild's fake servers send with generated values (fakes/): an answer that
# carries it is landed as sample data, and everything made from it stays labelled so.
SAMPLE_HEADER = "X-Malbild-Sample-Data"

# Level 1: the landing must keep up with the fetch. On a 0.75 MB Kolada page level 1 takes
# 1.0 ms against level 6's 2.7 ms (12 ms on a real 1 MB page), for bodies about 15 %
# larger. The format stays gzip, so landings written at any level read alike.
_COMPRESSLEVEL = 1


class LandedResponse(Protocol):
    """What landing needs of a response (``sources.http.Response`` has it)."""

    @property
    def method(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def status(self) -> int: ...
    @property
    def body(self) -> bytes: ...
    @property
    def request_body(self) -> bytes | None: ...
    @property
    def fetched_at(self) -> Any: ...
    @property
    def headers(self) -> dict[str, str]: ...
    @property
    def content_hash(self) -> str: ...
    @property
    def label(self) -> dict[str, Any] | None: ...


class RawStore:
    """Content-addressed store of raw response bodies and per-run manifests; thread-safe."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.objects_dir = self.root / "objects"
        self.runs_dir = self.root / "runs"
        self._lock = threading.Lock()

    def land(
        self,
        response: LandedResponse,
        *,
        run_id: str,
        source: str,
        kind: str,
        tag: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Store the body (once per content) and append a manifest line; return the line.

        ``tag`` says which part of the run the answer belongs to (a table, a series), so
        a replay finds it without reading URLs.
        """
        _check_run_id(run_id)
        content_hash = response.content_hash
        self._store_object(content_hash, response.body)
        row = {
            "run_id": run_id,
            "source": source,
            "kind": kind,
            "method": response.method,
            "url": response.url,
            "request_body": _text(response.request_body),
            "fetched_at": response.fetched_at.isoformat(),
            "status": response.status,
            "content_hash": content_hash,
            "bytes": len(response.body),
        }
        if tag:
            row["tag"] = tag
        if is_sample(response.headers):
            row["sample"] = True
        line = json.dumps(row, ensure_ascii=False) + "\n"
        with self._lock:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            with open(self._manifest_path(run_id), "a", encoding="utf-8") as manifest:
                manifest.write(line)
        return row

    def land_labelled(
        self, response: LandedResponse, *, run_id: str, source: str
    ) -> dict[str, Any]:
        """Land an answer under its request's label: ``kind``, and the rest as its tag."""
        kind, tag = split_label(response.label)
        return self.land(response, run_id=run_id, source=source, kind=kind, tag=tag)

    def recorder(self, run_id: str, source: str) -> Callable[[LandedResponse], None]:
        """An ``HttpClient.on_response`` callback landing every answer under its label."""
        _check_run_id(run_id)

        def record(response: LandedResponse) -> None:
            self.land_labelled(response, run_id=run_id, source=source)

        return record

    def mark_loading(self, run_id: str, loaded_at: datetime | None = None) -> None:
        """Record that the run's answers are all landed and its load begins.

        A process killed between the load's commit and ``mark_completed`` leaves this
        mark: the next run settles it against the warehouse (``settle_loading``), and a
        rebuild replays such a run too, so committed data is never left out.
        """
        self._mark(self._loading_path(run_id), loaded_at)

    def mark_completed(self, run_id: str, loaded_at: datetime | None = None) -> None:
        """Record that the run's load committed, so a rebuild replays it; with the time its
        load's versions count from, so the replay's history keeps the same times."""
        self._mark(self._completed_path(run_id), loaded_at)
        self._loading_path(run_id).unlink(missing_ok=True)

    def unmark_loading(self, run_id: str) -> None:
        """The run's load did not commit: it is no run to replay."""
        _check_run_id(run_id)
        self._loading_path(run_id).unlink(missing_ok=True)

    def loading_run_ids(self) -> list[str]:
        """Runs whose load began but was not marked completed (a killed process)."""
        return [run_id for run_id in self.run_ids() if self._loading_path(run_id).exists()]

    def _mark(self, path: Path, loaded_at: datetime | None) -> None:
        _check_run_id(path.stem)
        with self._lock:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            text = loaded_at.isoformat() if loaded_at else ""
            temp = path.with_suffix(path.suffix + ".tmp")
            temp.write_text(text, encoding="utf-8")
            os.replace(temp, path)

    def loaded_at(self, run_id: str) -> datetime | None:
        """When a completed run's load counted its versions from (None: not recorded,
        a run landed before the history was kept)."""
        _check_run_id(run_id)
        for path in (self._completed_path(run_id), self._loading_path(run_id)):
            try:
                text = path.read_text(encoding="utf-8").strip()
            except FileNotFoundError:
                continue
            return datetime.fromisoformat(text) if text else None
        return None

    def replayable_run_ids(self) -> list[str]:
        """Runs a rebuild replays, oldest first: completed, or killed while loading."""
        return [
            run_id
            for run_id in self.run_ids()
            if self._completed_path(run_id).exists() or self._loading_path(run_id).exists()
        ]

    def completed_run_ids(self) -> list[str]:
        """The runs marked completed, oldest first."""
        return [run_id for run_id in self.run_ids() if self._completed_path(run_id).exists()]

    def has(self, content_hash: str) -> bool:
        """Whether a body with this hash is stored."""
        return self._object_path(content_hash).exists()

    def read_body(self, content_hash: str) -> bytes:
        """The uncompressed body stored under this hash."""
        path = self._object_path(content_hash)
        try:
            return gzip.decompress(path.read_bytes())
        except FileNotFoundError:
            raise FileNotFoundError(f"no raw body {content_hash} in {self.objects_dir}") from None

    def manifest(self, run_id: str) -> list[dict[str, Any]]:
        """The manifest rows of a run in the order landed; empty if the run landed nothing."""
        _check_run_id(run_id)
        path = self._manifest_path(run_id)
        if not path.exists():
            return []
        with open(path, encoding="utf-8") as manifest:
            return [json.loads(line) for line in manifest if line.strip()]

    def run_ids(self) -> list[str]:
        """Every run with a manifest, oldest first (by its first response's ``fetched_at``)."""
        if not self.runs_dir.exists():
            return []
        firsts: list[tuple[str, str]] = []
        for path in self.runs_dir.glob("*.jsonl"):
            with open(path, encoding="utf-8") as manifest:
                first = manifest.readline()
            fetched_at = json.loads(first)["fetched_at"] if first.strip() else ""
            firsts.append((fetched_at, path.stem))
        return [run_id for _, run_id in sorted(firsts)]

    def _store_object(self, content_hash: str, body: bytes) -> None:
        path = self._object_path(content_hash)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # A unique temp file then an atomic rename: concurrent writers of the same body
        # both produce complete files, and readers never see a half-written one.
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{content_hash[:8]}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(gzip.compress(body, compresslevel=_COMPRESSLEVEL, mtime=0))
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def _object_path(self, content_hash: str) -> Path:
        if not _HASH.fullmatch(content_hash):
            raise ValueError(f"not a sha256 hex digest: {content_hash!r}")
        return self.objects_dir / content_hash[:2] / f"{content_hash}.json.gz"

    def _manifest_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.jsonl"

    def _completed_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.completed"

    def _loading_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.loading"


def split_label(label: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """A request's label as the manifest's kind and the answer's tag."""
    tag = dict(label or {})
    return str(tag.pop("kind", UNLABELLED)), tag


def is_sample(headers: Mapping[str, str]) -> bool:
    """Whether an answer's headers say its values are generated sample data."""
    return any(name.lower() == SAMPLE_HEADER.lower() for name in headers)


def _check_run_id(run_id: str) -> None:
    if not _RUN_ID.fullmatch(run_id):
        raise ValueError(f"run id {run_id!r} must be letters, digits, '.', '_' or '-'")


def _text(body: bytes | str | None) -> str | None:
    if body is None or isinstance(body, str):
        return body
    return body.decode("utf-8", errors="replace")
