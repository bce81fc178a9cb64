"""Ctrl-C and SIGTERM stop `malbild run` within a second, whatever it is doing.

Python runs signal handlers in the main thread between two bytecodes, so a handler
waits while the main thread is inside DuckDB (a load) or joined to a fetching thread
that waits on the network (Prefect's task runner). Here the signal is read by a thread
of its own (`signal.set_wakeup_fd`): it records the run as interrupted, in a transaction
of its own, stops Prefect's temporary server if this process started one, and ends the
process. A load that had not committed is lost with the process (DuckDB commits or
nothing); its landing and staging folder are settled by the next run (flows/recovery.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


@dataclass(frozen=True)
class _Run:
    warehouse_path: Path
    run_id: str


_current: _Run | None = None
_installed = False


@contextlib.contextmanager
def recorded_as_interrupted(warehouse_path: Path, run_id: str) -> Iterator[None]:
    """While the block runs, a stop signal records this run as interrupted."""
    global _current
    _current = _Run(warehouse_path, run_id)
    try:
        yield
    finally:
        _current = None


def install() -> None:
    """Read SIGINT and SIGTERM in a thread of their own (call from the main thread, once)."""
    global _installed
    if _installed:
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    for signum in EXIT_CODES:
        signal.signal(signum, lambda *_: None)  # the thread below acts on it
    threading.Thread(target=_watch, args=(read_fd,), name="malbild-signals", daemon=True).start()
    _installed = True


def _watch(read_fd: int) -> None:
    while True:
        for number in os.read(read_fd, 64):
            if number in EXIT_CODES:
                _stop(signal.Signals(number))


def _stop(signum: signal.Signals) -> None:
    run = _current
    told = "the run is recorded as interrupted; nothing it had not loaded is kept"
    print(f"\nmalbild: interrupted ({signum.name}): {told if run else 'stopping'}", file=sys.stderr)
    if run is not None:
        with contextlib.suppress(Exception):
            _record(run, signum)
    _stop_temporary_prefect_server()
    sys.stderr.flush()
    os._exit(EXIT_CODES[signum])


def _record(run: _Run, signum: signal.Signals) -> None:
    from warehouse.connection import open_warehouse
    from warehouse.run_log import record_run_interrupted

    with open_warehouse(run.warehouse_path) as con:
        record_run_interrupted(con, run.run_id, f"interrupted by {signum.name}")


def _stop_temporary_prefect_server() -> None:
    """Prefect stops the temporary API it started at exit; os._exit skips that."""
    server = sys.modules.get("prefect.server.api.server")
    instances = getattr(getattr(server, "SubprocessASGIServer", None), "_instances", {})
    for instance in list(instances.values()):
        with contextlib.suppress(Exception):
            instance.stop()
