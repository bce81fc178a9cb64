"""End to end through the fake SCB server: limits kept, answers parsed."""

from __future__ import annotations

import polars as pl
import pytest
import requests

from fakes.scb_server import SAMPLE_NOTE, FakeScbServer
from sources.http import SlidingWindowLimiter
from sources.scb.client import ScbApiError, ScbClient
from sources.scb.planning import ScbSelectionError
from transforms.scb import jsonstat2_to_frame, jsonstat2_updated, scb_frame_to_observations

# 290 kommuner × 2 sexes × 4 years = 2,320 cells: four times a limit of 580.
SELECTION = {
    "Region": {"codelist": "vs_RegionKommun07", "values": ["*"]},
    "Kon": ["1", "2"],
    "ContentsCode": "BE0101N1",
    "Tid": "RANGE(2001,2004)",
}
LIMIT = 580


@pytest.fixture
def scb():
    with FakeScbServer(max_data_cells=LIMIT, max_calls=3, window=1.0) as server:
        yield server


def client_for(server: FakeScbServer) -> ScbClient:
    return ScbClient(server.base_url, limiter=SlidingWindowLimiter(1, 1.0))


def test_a_selection_four_times_the_cell_limit_arrives_without_one_refused_call(scb):
    client = client_for(scb)

    responses = client.fetch_table("TAB638", SELECTION)

    assert len(responses) == 4
    assert scb.refused() == []
    assert len(scb.requests("GET", "/config")) == 1
    frame = pl.concat([jsonstat2_to_frame(r.body) for r in responses])
    assert frame.height == 4 * LIMIT
    assert frame.select("Region", "Kon", "Tid").unique().height == 4 * LIMIT


def test_recorded_cells_keep_their_values_and_eliminated_variables_are_summed(scb):
    client = client_for(scb)
    selection = {**SELECTION, "Region": ["0330", "0380"], "Tid": "RANGE(1998,2005)"}

    [response] = client.fetch_table("TAB638", selection)

    frame = jsonstat2_to_frame(response.body)
    assert frame.columns[:4] == ["Region", "Region_label", "Kon", "Kon_label"]
    obs = scb_frame_to_observations(
        frame.drop("ContentsCode", "ContentsCode_label"),
        series_id="scb:population",
        table_id="TAB638",
        updated=jsonstat2_updated(response.body) or "",
        measuring_type="Stock",
        response_hash=response.content_hash,
    )
    knivsta_men = obs.filter((pl.col("municipality_id") == "0330") & (pl.col("gender") == "M"))
    # 2002: ogifta 3464 + gifta 2333 + skilda 433 + änklingar 87, as recorded.
    assert knivsta_men.get_column("value").to_list()[:5] == [None, None, None, None, 6317.0]
    assert SAMPLE_NOTE in response.body.decode("utf-8")


def test_a_selection_error_is_raised_before_any_data_call(scb):
    client = client_for(scb)

    with pytest.raises(ScbSelectionError, match="TAB638: value '9999'"):
        client.fetch_table("TAB638", {**SELECTION, "Region": ["9999"]})

    assert scb.requests("POST") == []


def test_an_unknown_table_is_a_404_problem(scb):
    with pytest.raises(ScbApiError, match="Non-existent table") as caught:
        client_for(scb).table_metadata("TAB0")

    assert caught.value.status == 404


def test_the_fake_refuses_too_many_cells_and_unknown_values(scb):
    url = f"{scb.base_url}/tables/TAB638/data"
    too_big = {"selection": [
        {"variableCode": "Region", "valueCodes": ["*"]},
        {"variableCode": "ContentsCode", "valueCodes": ["BE0101N1"]},
        {"variableCode": "Tid", "valueCodes": ["*"]},
    ]}  # fmt: skip
    unknown = {"selection": [
        {"variableCode": "Region", "valueCodes": ["9999"]},
        {"variableCode": "ContentsCode", "valueCodes": ["BE0101N1"]},
        {"variableCode": "Tid", "valueCodes": ["2024"]},
    ]}  # fmt: skip

    refused = [requests.post(url, json=body, timeout=5) for body in (too_big, unknown)]

    assert [r.status_code for r in refused] == [400, 400]
    assert [r.json()["title"] for r in refused] == ["Too many cells selected", "Non-existent value"]
    assert refused[0].headers["Content-Type"].startswith("application/problem+json")
    assert len(scb.refused()) == 2


def test_the_fake_answers_429_with_retry_after_past_the_call_window(scb):
    answers = [requests.get(f"{scb.base_url}/config", timeout=5) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert answers[0].json()["maxDataCells"] == LIMIT


def test_the_fake_searches_its_tables(scb):
    found = client_for(scb).search_tables("flyttningar")

    assert sorted(t["id"] for t in found) == ["TAB1212", "TAB6640"]
