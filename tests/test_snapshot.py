"""Analysts never wait on the writer: each successful run publishes a read-only snapshot;
a query held open on it never fails a refresh, and a connection held on the warehouse
itself fails the run with one line, leaving the snapshot as it was. TEST DATA."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import duckdb
import pytest

from flows import pipeline
from tests import test_refresh_flow
from tests.test_refresh_flow import query, run
from tests.warehouse_data import held_by_another_process
from warehouse.snapshot import snapshot_path

pytestmark = pytest.mark.e2e

fakes = test_refresh_flow.fakes
plan_file = test_refresh_flow.plan_file
VALUE = (
    "SELECT value FROM core.observation"
    " WHERE series_id = 'N07403' AND municipality_id = '0115' AND year = 2024"
)


def test_a_query_held_on_the_snapshot_never_fails_a_refresh(
    prefect_harness, fakes, plan_file: Path, tmp_path: Path
):
    kolada, _ = fakes
    warehouse = tmp_path / "w.duckdb"
    snapshot = snapshot_path(warehouse)
    assert snapshot == tmp_path / "w.snapshot.duckdb"
    assert run(plan_file, warehouse) == 0
    assert query(snapshot, VALUE) == [(400.0,)]

    with duckdb.connect(str(snapshot), read_only=True) as analyst:  # held through the run
        kolada.revise("N07403", "0115", 2024, [{"value": 700.0}])
        assert run(plan_file, warehouse) == 0
        assert analyst.execute(VALUE).fetchall() == [(400.0,)]  # what it opened, unchanged
    assert query(snapshot, VALUE) == [(700.0,)]  # the next query sees the new run
    runs = query(snapshot, "SELECT status FROM core.run")
    assert runs == [("succeeded",), ("succeeded",)]


def test_a_connection_held_on_the_warehouse_fails_the_run_in_one_line(
    prefect_harness,
    fakes,
    plan_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    kolada, _ = fakes
    warehouse = tmp_path / "w.duckdb"
    assert run(plan_file, warehouse) == 0
    published = snapshot_path(warehouse).read_bytes()
    kolada.revise("N07403", "0115", 2024, [{"value": 700.0}])
    fetch = pipeline.fetch_source

    with ExitStack() as held:

        def fetch_while_an_analyst_opens_the_warehouse(*args):  # type: ignore[no-untyped-def]
            held.enter_context(held_by_another_process(warehouse))
            return fetch(*args)

        monkeypatch.setattr(pipeline, "fetch_source", fetch_while_an_analyst_opens_the_warehouse)
        capsys.readouterr()
        assert run(plan_file, warehouse) == 1

    error = capsys.readouterr().err
    assert "in use by another process" in error
    assert "Traceback" not in error
    assert snapshot_path(warehouse).read_bytes() == published
    assert query(warehouse, VALUE) == [(400.0,)]
    monkeypatch.undo()
    monkeypatch.setenv("MALBILD_KOLADA_URL", kolada.base_url)
    monkeypatch.setenv("MALBILD_SCB_URL", fakes[1].base_url)
    assert run(plan_file, warehouse) == 0  # the next run gets the change
    assert query(warehouse, VALUE) == [(700.0,)]
    # The failed run could not be recorded: it stays 'running' while its process lives
    # (here, this test's), and the first run after that process ends marks it abandoned
    # (tests/test_faults_warehouse.py).
    statuses = query(warehouse, "SELECT status FROM core.run ORDER BY started_at")
    assert statuses == [("succeeded",), ("running",), ("succeeded",)]
