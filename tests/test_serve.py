"""`malbild serve` against a real Prefect server: deployments with plain parameters and
schedules in Stockholm time; a run started from the deployment refreshes the warehouse.

Starts `prefect server start` (20-60 s here) and the fake servers (TEST DATA).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from benchmarks.prefect_server import PrefectServer, prefect_env
from tests import test_refresh_flow
from tests.test_refresh_flow import query

pytestmark = pytest.mark.e2e

fakes = test_refresh_flow.fakes
plan_file = test_refresh_flow.plan_file


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    with PrefectServer(tmp_path_factory.mktemp("prefect-home")) as server:
        yield server


def api(server: PrefectServer, method: str, path: str, body: Any = None) -> Any:
    answer = requests.request(method, f"{server.api_url}{path}", json=body, timeout=30)
    answer.raise_for_status()
    return answer.json()


def wait_for(what: str, found: Any, timeout: float = 300) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := found()) is not None:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_served_deployment_runs_the_refresh_on_demand(
    prefect_server: PrefectServer, fakes, plan_file: Path, tmp_path: Path
) -> None:
    kolada, scb = fakes
    warehouse = tmp_path / "w.duckdb"
    env = {
        **os.environ,
        **prefect_env(prefect_server.home),
        "PREFECT_API_URL": prefect_server.api_url,
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "MALBILD_KOLADA_URL": kolada.base_url,
        "MALBILD_SCB_URL": scb.base_url,
    }
    command = [sys.executable, "-c", "import sys; from flows.cli import main; sys.exit(main())"]
    served = subprocess.Popen(
        [*command, "serve", "--plan", str(plan_file), "--warehouse", str(warehouse)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def deployments() -> list[dict[str, Any]] | None:
            found = api(prefect_server, "POST", "/deployments/filter", {})
            return found if len(found) == 2 else None

        made = {d["name"]: d for d in wait_for("the deployments", deployments)}
        assert set(made) == {"testplan", "testplan-full"}
        daily, weekly = made["testplan"], made["testplan-full"]
        assert daily["parameters"] == {
            "plan": str(plan_file.resolve()),
            "warehouse": str(warehouse.resolve()),
            "full": False,
        }
        assert weekly["parameters"]["full"] is True
        for deployment, cron in ((daily, "0 6 * * *"), (weekly, "0 3 * * 0")):
            (schedule,) = [s["schedule"] for s in deployment["schedules"]]
            assert (schedule["cron"], schedule["timezone"]) == (cron, "Europe/Stockholm")
        # Every parameter is plain and fully defined: the UI's form can show and edit it.
        properties = daily["parameter_openapi_schema"]["properties"]
        assert {"plan", "warehouse", "years", "full", "strict"} <= set(properties)

        run = api(prefect_server, "POST", f"/deployments/{daily['id']}/create_flow_run", {})

        def finished() -> dict[str, Any] | None:
            state = api(prefect_server, "GET", f"/flow_runs/{run['id']}")["state"]
            return state if state["type"] in ("COMPLETED", "FAILED", "CRASHED") else None

        state = wait_for("the served run", finished)
        assert state["type"] == "COMPLETED", state
    finally:
        os.killpg(served.pid, signal.SIGINT)
        try:
            out = served.communicate(timeout=30)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            os.killpg(served.pid, signal.SIGKILL)
            out = served.communicate()[0].decode(errors="replace")
    assert query(warehouse, "SELECT count(*) FROM core.observation")[0][0] > 0, out
    logged = query(warehouse, "SELECT kind, status, parameters->>'full' FROM core.run")
    assert logged == [("refresh", "succeeded", "false")]


def test_serve_without_a_prefect_server_says_how_to_start_one(
    plan_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from flows.cli import main

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert main(["serve", "--plan", str(plan_file)]) == 2
    assert "prefect server start" in capsys.readouterr().err


def test_prefect_yaml_deploys_the_flow_with_its_plain_parameters() -> None:
    import inspect

    import yaml

    from flows.refresh import refresh

    root = Path(__file__).resolve().parent.parent
    config = yaml.safe_load((root / "prefect.yaml").read_text(encoding="utf-8"))
    accepted = set(inspect.signature(refresh.fn).parameters)
    for deployment in config["deployments"]:
        path, name = deployment["entrypoint"].split(":")
        assert (root / path).is_file() and name == "refresh"
        assert set(deployment["parameters"]) <= accepted
        assert (root / deployment["parameters"]["plan"]).is_file()
        (schedule,) = deployment["schedules"]
        assert schedule["timezone"] == "Europe/Stockholm"
    assert {d["parameters"]["full"] for d in config["deployments"]} == {False, True}
