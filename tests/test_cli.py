"""The `malbild` command as people use it: the plan-writing commands (`check`, `kpis`,
`areas`, `tables`), the run log (`runs`), JSON output, tables that fit the terminal,
offline answers, exit statuses and messages. Against the fake APIs; no Prefect."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from fakes.kolada_server import FakeKolada
from fakes.sample_data import sample_kolada
from fakes.scb_server import FakeScbServer
from flows.cli import main
from flows.cli_progress import FlowSteps, RunProgress
from flows.settings import default_plan_path
from sources.kolada.series import fetch_catalogue
from warehouse.connection import open_warehouse
from warehouse.load import LoadCounts, RefreshBatch, load_refresh
from warehouse.run_log import record_run_end, record_run_start

ROOT = Path(__file__).resolve().parent.parent

SCB_PLAN = """
plan: {id: scbplan, title: SCB-plan (testdata), municipality: "0115", county: "0001", years: 2024}
series:
  scb:median_income:
    title: Medianinkomst 20-64 år
    scb: [{table: TAB3554, content: HE0110J8, select: {Alder: "20-64"}}]
  scb:gone:
    title: En tabell som SCB inte har
    scb: [{table: TAB9999, content: XX0101A1}]
goals:
  - id: tillvaxt
    title: Tillväxt
    indicators:
      - {kpi: N15507, direction: higher}
      - {series: scb:median_income, direction: higher}
      - {series: scb:gone, direction: higher}
"""

COMMANDS = "run demo rebuild serve check kpis areas tables runs changes"
RUN_HEADER = "körning typ plan status start tid anrop nya ändr samma varn"
OLD_RUN = "20250101T080000Z-aaaaaa"
NEW_RUN = "20250102T080000Z-bbbbbb"
WARNINGS = [
    "scb:gone: unavailable — SCB: SCB refused table TAB9999: 'Non-existent table' (HTTP 404)",
    "N00097: no values for 0115 in these years (shown grey)",
]


def closed_port_url(path: str) -> str:
    """An address on 127.0.0.1 where nothing listens: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


@pytest.fixture(scope="module")
def kolada() -> Iterator[FakeKolada]:
    with FakeKolada(**sample_kolada()) as fake:
        yield fake


@pytest.fixture
def apis(kolada: FakeKolada, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeKolada:
    monkeypatch.setenv("MALBILD_KOLADA_URL", kolada.base_url)
    monkeypatch.setenv("MALBILD_WAREHOUSE", str(tmp_path / "none.duckdb"))
    return kolada


@pytest.fixture
def scb(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeScbServer]:
    with FakeScbServer() as fake:
        monkeypatch.setenv("MALBILD_SCB_URL", fake.base_url)
        yield fake


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALBILD_KOLADA_URL", closed_port_url("/v3"))
    monkeypatch.setenv("MALBILD_SCB_URL", closed_port_url("/api/v2"))


def response(run_id: str, source: str, kind: str, n: int, status: int = 200) -> dict:
    """One raw landing manifest line (what raw.response keeps)."""
    return {
        "run_id": run_id,
        "source": source,
        "kind": kind,
        "method": "GET",
        "url": f"http://example.invalid/{kind}/{n}",
        "request_body": None,
        "fetched_at": datetime(2025, 1, 2, 8, 0, n, tzinfo=UTC).isoformat(),
        "status": status,
        "content_hash": f"{n:064x}",
        "bytes": 1000 + n,
    }


@pytest.fixture
def run_log(tmp_path: Path) -> Path:
    """A warehouse with two runs: an older failed one, a newer one with warnings."""
    path = tmp_path / "runs.duckdb"
    with open_warehouse(path) as con:
        record_run_start(con, OLD_RUN, "refresh", "vallentuna-2024-2026", {"years": None})
        record_run_end(con, OLD_RUN, "failed", requests_made=2, error="RuntimeError: boom")
        con.execute(
            "UPDATE core.run SET started_at = ?::TIMESTAMPTZ WHERE run_id = ?",
            [datetime.now(UTC) - timedelta(days=1), OLD_RUN],
        )
        record_run_start(con, NEW_RUN, "refresh", "vallentuna-2024-2026", {"strict": False})
        responses = [response(NEW_RUN, "kolada", "kpi", n) for n in range(2)]
        responses += [response(NEW_RUN, "scb", "scb_metadata", n) for n in range(2, 5)]
        responses += [response(NEW_RUN, "scb", "scb_data", 5, status=404)]
        load_refresh(con, RefreshBatch(run_id=NEW_RUN, responses=responses))
        counts = LoadCounts(inserted=35_256, updated=3, unchanged=12)
        record_run_end(con, NEW_RUN, "succeeded", requests_made=6, counts=counts, warnings=WARNINGS)
    return path


# -- check ------------------------------------------------------------------------------


def test_check_accepts_the_shipped_plan_against_the_real_catalogue(apis, scb, capsys):
    assert main(["check", str(default_plan_path())]) == 0

    out, err = capsys.readouterr()
    assert "OK — plan vallentuna-2024-2026, 3 goals" in out
    assert "Katalog: hämtad från Kolada" in err


def test_check_names_file_goal_and_value_and_exits_2(apis, capsys, tmp_path: Path):
    plan = tmp_path / "umea.yaml"
    text = default_plan_path().read_text(encoding="utf-8").replace("kpi: N15428", "kpi: N99998")
    plan.write_text(text, encoding="utf-8")

    assert main(["check", str(plan)]) == 2

    error = capsys.readouterr().err
    assert "umea.yaml" in error and "hog-kvalitet" in error and "N99998" in error


def test_check_names_an_scb_table_that_scb_does_not_have_and_exits_2(
    apis, scb, capsys, tmp_path: Path
):
    plan = tmp_path / "scbplan.yaml"
    plan.write_text(SCB_PLAN, encoding="utf-8")

    assert main(["check", str(plan)]) == 2

    out, err = capsys.readouterr()
    assert "OK" not in out
    assert "scb:gone" in err and "TAB9999" in err and "Non-existent table" in err
    assert "scb:median_income" not in err


def test_check_json_lists_each_source_with_its_problems(apis, scb, capsys, tmp_path: Path):
    plan = tmp_path / "scbplan.yaml"
    plan.write_text(SCB_PLAN, encoding="utf-8")

    assert main(["check", str(plan), "--json"]) == 2

    found = {row["source"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(found) == {"kolada", "scb"}
    assert found["kolada"] == {
        "source": "kolada",
        "checked": True,
        "not_checked_reason": None,
        "problems": [],
    }
    assert [problem["series"] for problem in found["scb"]["problems"]] == ["scb:gone"]


def test_check_says_scb_was_not_checked_when_scb_cannot_be_reached(
    apis, monkeypatch, capsys, tmp_path: Path
):
    monkeypatch.setenv("MALBILD_SCB_URL", closed_port_url("/api/v2"))
    plan = tmp_path / "scbplan.yaml"
    plan.write_text(SCB_PLAN, encoding="utf-8")

    assert main(["check", str(plan)]) == 0

    out, err = capsys.readouterr()
    assert "OK — plan scbplan" in out
    assert "SCB kunde inte nås: SCB-serierna är INTE kontrollerade" in err
    assert "Traceback" not in err


# -- kpis and areas --------------------------------------------------------------------------


def test_kpis_finds_a_kpi_by_words_of_its_title(apis, capsys):
    assert main(["kpis", "meritvärde åk 9 hemkommun"]) == 0

    assert "N15507" in capsys.readouterr().out


def test_kpis_json_is_a_list_of_objects_with_iso_dates_and_nothing_else(apis, capsys):
    assert main(["kpis", "meritvärde åk 9 hemkommun", "--json"]) == 0

    out, err = capsys.readouterr()
    rows = json.loads(out)
    assert rows and all(isinstance(row, dict) for row in rows)
    columns = "id title municipality_type is_divided_by_gender publication_date operating_area"
    assert set(rows[0]) == set(columns.split())
    dated = [row["publication_date"] for row in rows if row["publication_date"]]
    assert dated and all(datetime.fromisoformat(value) for value in dated)
    assert "Katalog:" in err


def test_a_cut_table_says_how_many_rows_it_shows(apis, capsys):
    assert main(["kpis", "skola", "--limit", "3"]) == 0

    out = capsys.readouterr().out
    assert "visar 3 av " in out and "--limit N" in out


def test_areas_lists_a_kommun_with_its_similar_municipality_groups(apis, capsys):
    assert main(["areas", "Vallentuna"]) == 0

    out = capsys.readouterr().out
    assert "0115" in out and "G37571" in out and "G36111" in out

    assert main(["areas", "Vallentuna", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"id": "0115", "title": "Vallentuna", "kind": "kommun", "members": None} in rows
    assert all(set(row) == {"id", "title", "kind", "members"} for row in rows)


def test_kpis_use_the_warehouse_copy_of_the_catalogue_and_say_so(
    kolada: FakeKolada, offline, capsys, tmp_path: Path
):
    catalogue = fetch_catalogue(kolada.base_url)
    warehouse = tmp_path / "w.duckdb"
    with open_warehouse(warehouse) as con:
        batch = RefreshBatch(
            run_id="20250101T000000Z-cccccc",
            kpis=catalogue.kpis,
            municipalities=catalogue.municipalities,
            groups=catalogue.groups,
            group_members=catalogue.group_members,
        )
        load_refresh(con, batch)

    assert main(["kpis", "N15507", "--warehouse", str(warehouse)]) == 0

    out, err = capsys.readouterr()
    assert "N15507" in out
    assert f"Katalog: lagrets kopia i {warehouse}" in err


def test_kpis_without_a_catalogue_or_network_exit_1_with_the_hint_at_once(
    offline, capsys, tmp_path: Path
):
    started = time.monotonic()

    code = main(["kpis", "skola", "--warehouse", str(tmp_path / "none.duckdb")])

    assert code == 1
    assert time.monotonic() - started < 5
    error = capsys.readouterr().err
    assert "holds no catalogue" in error and "cannot reach 127.0.0.1" in error
    assert "No network? `malbild demo`" in error
    assert len(error.strip().splitlines()) == 1 and "Traceback" not in error


# -- tables ------------------------------------------------------------------------------


def test_tables_searches_scb_and_shows_a_tables_variables(scb, capsys, tmp_path: Path):
    assert main(["tables", "TAB2538", "--cache-dir", str(tmp_path)]) == 0

    out = capsys.readouterr().out
    assert "BO0101A5" in out and "Hustyp" in out and "Flow" in out


def test_tables_search_lists_matching_tables(scb, capsys, tmp_path: Path):
    assert main(["tables", "flyttningar", "--cache-dir", str(tmp_path)]) == 0

    out = capsys.readouterr().out
    assert "TAB1212" in out and "TAB2538" not in out

    assert main(["tables", "flyttningar", "--json", "--cache-dir", str(tmp_path)]) == 0
    rows = json.loads(capsys.readouterr().out)
    ids = [row["id"] for row in rows]
    assert "TAB1212" in ids and "TAB2538" not in ids
    assert {"id", "label", "first_period", "last_period", "updated", "variables"} == set(rows[0])


def test_tables_answer_from_the_cache_when_scb_cannot_be_reached(
    monkeypatch, capsys, tmp_path: Path
):
    warehouse = tmp_path / "w.duckdb"  # the cache goes beside it: scb-cache/
    with FakeScbServer() as scb:
        monkeypatch.setenv("MALBILD_SCB_URL", scb.base_url)
        assert main(["tables", "TAB638", "--warehouse", str(warehouse)]) == 0
        assert main(["tables", "flyttningar", "--warehouse", str(warehouse)]) == 0
    capsys.readouterr()
    assert (tmp_path / "scb-cache" / "metadata" / "TAB638.json").exists()

    assert main(["tables", "tab638", "--warehouse", str(warehouse)]) == 0
    out, err = capsys.readouterr()
    assert "BE0101N1" in out and "Folkmängd" in out
    assert "SCB kunde inte nås: svar från cachen, hämtat" in err

    assert main(["tables", "flyttningar", "--warehouse", str(warehouse)]) == 0
    assert "TAB1212" in capsys.readouterr().out

    assert main(["tables", "TAB1212", "--warehouse", str(warehouse)]) == 1
    error = capsys.readouterr().err
    assert "TAB1212 is not in the SCB cache" in error and "No network?" in error


def test_tables_with_a_table_scb_does_not_have_exits_2(scb, capsys, tmp_path: Path):
    assert main(["tables", "TAB9999", "--cache-dir", str(tmp_path)]) == 2

    assert "TAB9999" in capsys.readouterr().err


# -- runs ------------------------------------------------------------------------------------


def test_runs_lists_newest_first_with_whole_run_ids_in_80_columns(
    run_log: Path, monkeypatch, capsys
):
    monkeypatch.setenv("COLUMNS", "80")

    assert main(["runs", "--warehouse", str(run_log)]) == 0

    out = capsys.readouterr().out
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), out
    assert out.index(NEW_RUN) < out.index(OLD_RUN)
    assert "succeeded" in out and "failed" in out
    assert "35 256" in out

    assert main(["runs", "--warehouse", str(run_log), "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert NEW_RUN in out and OLD_RUN not in out and "visar 1 av 2 rader" in out


def test_runs_shows_every_column_in_a_wide_terminal(run_log: Path, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "160")

    assert main(["runs", "--warehouse", str(run_log)]) == 0

    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("körning"))
    assert header.split() == RUN_HEADER.split()
    assert "vallentuna-2024-2026" in out and "dolda kolumner" not in out


def test_runs_json_has_iso_times_and_parameters_as_objects(run_log: Path, capsys):
    assert main(["runs", "--warehouse", str(run_log), "--json"]) == 0

    rows = json.loads(capsys.readouterr().out)
    assert [row["run_id"] for row in rows] == [NEW_RUN, OLD_RUN]
    newest = rows[0]
    assert datetime.fromisoformat(newest["started_at"]).tzinfo is not None
    assert newest["parameters"] == {"strict": False}
    assert newest["warnings"] == WARNINGS
    assert newest["rows_inserted"] == 35_256

    assert main(["runs", OLD_RUN, "--warehouse", str(run_log), "--json"]) == 0
    (run,) = json.loads(capsys.readouterr().out)
    assert run["error"] == "RuntimeError: boom" and run["requests_by_kind"] == []


def test_one_run_shows_its_warnings_error_and_requests_by_kind(run_log: Path, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")

    assert main(["runs", NEW_RUN[:18], "--warehouse", str(run_log)]) == 0

    out = capsys.readouterr().out
    assert NEW_RUN in out
    for warning in WARNINGS:
        assert f"  - {warning}" in out.splitlines()
    kinds = {
        tuple(line.split()[:4]) for line in out.splitlines() if line.startswith(("kolada ", "scb "))
    }
    assert kinds == {
        ("kolada", "kpi", "2", "0"),
        ("scb", "scb_metadata", "3", "0"),
        ("scb", "scb_data", "1", "1"),
    }
    assert '"strict": false' in out


def test_an_unknown_or_ambiguous_run_id_exits_2(run_log: Path, capsys):
    assert main(["runs", "2024", "--warehouse", str(run_log)]) == 2
    assert "no run '2024'" in capsys.readouterr().err

    assert main(["runs", "2025", "--warehouse", str(run_log)]) == 2
    assert "starts 2 run ids" in capsys.readouterr().err


# -- run and demo: the progress display --------------------------------------------------------


def test_progress_follows_the_flows_steps_from_its_log_records():
    def record(logger: str, message: str, level: int = logging.INFO, **extra) -> logging.LogRecord:
        made = logging.LogRecord(logger, level, __file__, 1, message, None, None)
        made.__dict__.update(extra)
        return made

    def task(name: str, run_name: str, message: str) -> list[logging.LogRecord]:
        said = {"task_name": name, "task_run_name": run_name}
        return [
            record("prefect.task_runs", message, **said),
            record("prefect.task_runs", "Finished in state Completed()", **said),
        ]

    console = Console(file=io.StringIO(), width=80)
    steps = FlowSteps(RunProgress(console=console), ["kolada", "scb"])
    for each in [
        record("prefect.flow_runs", "Beginning flow run 'x' for flow 'refresh'", flow_run_name="x"),
        *task("preflight", "preflight-1", "Plan p is valid"),
        *task("fetch", "fetch scb", "scb: 9 answers for 3 series; 0 unavailable"),
        record("sources.http", "GET u: HTTP 503; retrying in 1 s\nmore", logging.WARNING),
        *task("fetch", "fetch kolada", "kolada: 3 answers for 16 series; 0 unavailable"),
        *task("transform", "transform-1", "Transformed the observations"),
        *task("load", "load-1", "Loaded in one transaction: 16 inserted"),
        record("prefect.flow_runs", "Finished in state Completed()"),
    ]:
        steps.emit(each)

    lines = [line.split("  (")[0] for line in console.file.getvalue().splitlines()]
    assert lines == [
        "✓ Prefect startat (flödeskörning x)",
        "✓ scb: 9 answers for 3 series; 0 unavailable",
        "! GET u: HTTP 503; retrying in 1 s",
        "✓ kolada: 3 answers for 16 series; 0 unavailable",
        "✓ Transformed the observations",
        "✓ Loaded in one transaction: 16 inserted",
    ]


# -- the command itself ---------------------------------------------------------------------


def test_usage_errors_exit_2_and_help_exits_0(capsys):
    assert main(["kpis"]) == 2
    assert "Missing argument" in capsys.readouterr().err
    assert main(["runs", "--limit", "0"]) == 2
    assert main(["no-such-command"]) == 2
    assert main(["--help"]) == 0
    assert "kpis" in capsys.readouterr().out


def test_every_command_and_option_has_help_text():
    import typer

    from flows.cli import app

    command = typer.main.get_command(app)
    subcommands = command.commands  # type: ignore[attr-defined]
    assert set(subcommands) == set(COMMANDS.split())
    for name, sub in subcommands.items():
        assert sub.help, name
        for param in sub.params:
            assert param.hidden or param.help, f"{name} {param.name}"


def test_a_failure_is_one_line_and_its_traceback_comes_with_debug(
    run_log: Path, monkeypatch, capsys
):
    def broken(*args, **kwargs):
        raise RuntimeError("the run log is upside down")

    monkeypatch.setattr("flows.cli_lookup.read_run_log", broken)

    assert main(["runs", "--warehouse", str(run_log)]) == 1
    error = capsys.readouterr().err
    assert "malbild: failed: RuntimeError: the run log is upside down" in error
    assert "run with --debug" in error and "Traceback" not in error

    assert main(["runs", "--warehouse", str(run_log), "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err

    monkeypatch.undo()
    assert main(["runs", "--warehouse", str(run_log.parent / "nothing.duckdb")]) == 1
    error = capsys.readouterr().err
    assert "no warehouse there yet" in error and len(error.strip().splitlines()) == 1


def run_python(
    code: str, tmp_path: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_importing_the_cli_imports_neither_prefect_nor_polars(tmp_path: Path):
    found = run_python(
        "import sys, flows.cli; "
        "print([m for m in ('prefect', 'polars', 'duckdb', 'rich') if m in sys.modules])",
        tmp_path,
    )

    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "[]"


def test_a_bad_plan_for_run_exits_2_before_prefect_is_imported(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("plan:\n  id: bad\ngoals: 7\n", encoding="utf-8")
    warehouse = tmp_path / "w.duckdb"
    code = (
        "import sys; from flows.cli import main; "
        f"code = main(['run', '--plan', {str(bad)!r}, '--warehouse', {str(warehouse)!r}]); "
        "print('prefect' in sys.modules); sys.exit(code)"
    )

    found = run_python(code, tmp_path)

    assert found.returncode == 2, found.stderr
    assert found.stdout.strip().splitlines()[-1] == "False"
    assert "bad.yaml" in found.stderr and "Traceback" not in found.stderr


def test_an_offline_run_fails_at_once_with_one_line_and_exit_1(tmp_path: Path):
    import socket
    import time

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{free.getsockname()[1]}/v3"  # nothing listens here
    code = (
        "import sys; from flows.cli import main; "
        f"code = main(['run', '--warehouse', {str(tmp_path / 'w.duckdb')!r}]); "
        "print('prefect' in sys.modules); sys.exit(code)"
    )
    started = time.monotonic()

    found = run_python(code, tmp_path, env={"MALBILD_KOLADA_URL": closed})

    assert time.monotonic() - started < 15
    assert found.returncode == 1, found.stderr
    assert found.stdout.strip().splitlines()[-1] == "False"  # Prefect never started
    lines = found.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach 127.0.0.1: it refuses connections" in lines[0]
    assert "malbild demo" in lines[0]
