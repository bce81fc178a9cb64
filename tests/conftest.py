"""Shared fixtures. Prefect starts once per session, and only for the tests that ask."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "malbild")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect API for the whole session (it takes 10–15 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def demo_warehouse(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse built once by `malbild demo` (sample data; its landing is beside it)."""
    from flows.cli import main

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    assert main(["demo", "--warehouse", str(path)]) == 0
    return path
