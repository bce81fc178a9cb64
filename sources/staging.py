"""Staged observations: frames written to Parquet as they are made, read back lazily.

A run's observations never have to be in memory all at once: each source's pages are
parsed as they arrive and their rows staged here; the checks scan the files and the load
reads them with DuckDB. The files live in the run's staging folder and go with it.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import polars as pl

from transforms.schema import OBSERVATION_SCHEMA

# Rows buffered before a file is written: a few MB per file keeps the file count low
# (a 14 M-row run writes ~70 files, not one per page) while the buffer stays small.
ROWS_PER_FILE = 200_000


class Stage:
    """Observation frames staged as Parquet files in one folder; thread-safe."""

    def __init__(self, folder: Path, rows_per_file: int = ROWS_PER_FILE):
        self.folder = Path(folder)
        self.rows_per_file = rows_per_file
        self._pending: list[pl.DataFrame] = []
        self._pending_rows = 0
        self._files: list[Path] = []
        self._lock = threading.Lock()

    def write(self, frame: pl.DataFrame) -> None:
        """Stage the rows (OBSERVATION_SCHEMA); written to disk once enough are pending."""
        if frame.is_empty():
            return
        with self._lock:
            self._pending.append(frame)
            self._pending_rows += frame.height
            if self._pending_rows >= self.rows_per_file:
                self._flush()

    def files(self) -> list[Path]:
        """Every staged file, the pending rows written first."""
        with self._lock:
            self._flush()
            return list(self._files)

    def scan(self) -> pl.LazyFrame:
        """All staged rows, lazily (an empty frame of the schema when none)."""
        files = self.files()
        if not files:
            return pl.LazyFrame(schema=OBSERVATION_SCHEMA)
        return pl.scan_parquet(files, schema=OBSERVATION_SCHEMA)

    def remove(self) -> None:
        """Delete the folder and everything staged in it."""
        with self._lock:
            self._pending.clear()
            self._files.clear()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _flush(self) -> None:
        if not self._pending:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{len(self._files):05d}.parquet"
        # Uncompressed: the files live for one run, and DuckDB reads them fastest so.
        pl.concat(self._pending).select(list(OBSERVATION_SCHEMA)).cast(
            pl.Schema(OBSERVATION_SCHEMA)
        ).write_parquet(path, compression="uncompressed")
        self._files.append(path)
        self._pending.clear()
        self._pending_rows = 0
