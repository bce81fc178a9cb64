"""End to end through the fake SCB server: limits kept, answers parsed."""

from __future__ import annotations

from datetime import UTC, datetime

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


# -- revising a table between two refreshes ------------------------------------------------

# Population: Knivsta and Uppsala recorded, Vallentuna generated.
POPULATION_SELECTION = {"selection": [
    {"variableCode": "Region", "valueCodes": ["0330", "0380", "0115"]},
    {"variableCode": "Kon", "valueCodes": ["1", "2"]},
    {"variableCode": "ContentsCode", "valueCodes": ["BE0101N1"]},
    {"variableCode": "Tid", "valueCodes": ["2001", "2002", "2003"]},
]}  # fmt: skip
# Completed dwellings: Upplands Väsby recorded (".." in the early 1970s), Vallentuna
# generated.
DWELLINGS_SELECTION = {"selection": [
    {"variableCode": "Region", "valueCodes": ["0114", "0115"]},
    {"variableCode": "Hustyp", "valueCodes": ["FLERBO", "SMÅHUS"]},
    {"variableCode": "ContentsCode", "valueCodes": ["BO0101A5"]},
    {"variableCode": "Tid", "valueCodes": ["1972", "1973", "2020", "2024"]},
]}  # fmt: skip
# Mean age, in years with one decimal.
MEAN_AGE_SELECTION = {"selection": [
    {"variableCode": "Region", "valueCodes": ["0115", "0330"]},
    {"variableCode": "ContentsCode", "valueCodes": ["BE0101G9"]},
    {"variableCode": "Tid", "valueCodes": ["2010", "2024"]},
]}  # fmt: skip
SELECTIONS = {
    "TAB638": POPULATION_SELECTION,
    "TAB2538": DWELLINGS_SELECTION,
    "TAB637": MEAN_AGE_SELECTION,
}


@pytest.fixture
def roomy_scb():
    with FakeScbServer() as server:
        yield server


def post_data(server: FakeScbServer, table_id: str) -> dict:
    url = f"{server.base_url}/tables/{table_id}/data"
    response = requests.post(url, json=SELECTIONS[table_id], timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def stamps(server: FakeScbServer, table_id: str) -> dict[str, str]:
    """The table's ``updated`` where a client reads it: metadata, entry, listing, data."""
    base = server.base_url
    listing = requests.get(f"{base}/tables", params={"query": table_id}, timeout=5).json()
    return {
        "metadata": requests.get(f"{base}/tables/{table_id}/metadata", timeout=5).json()["updated"],
        "entry": requests.get(f"{base}/tables/{table_id}", timeout=5).json()["updated"],
        "listing": next(t["updated"] for t in listing["tables"] if t["id"] == table_id),
        "data": post_data(server, table_id)["updated"],
    }


def test_revise_table_changes_updated_in_metadata_tables_and_data_answers(roomy_scb):
    before = stamps(roomy_scb, "TAB638")

    roomy_scb.revise_table("TAB638", "2026-03-01T07:00:00Z")

    assert set(before.values()) == {"2025-02-21T07:00:00Z"}
    assert stamps(roomy_scb, "TAB638") == dict.fromkeys(before, "2026-03-01T07:00:00Z")
    assert jsonstat2_updated(post_data(roomy_scb, "TAB638")) == datetime(2026, 3, 1, 7, tzinfo=UTC)
    assert set(stamps(roomy_scb, "TAB637").values()) == {"2026-02-24T07:00:00Z"}


@pytest.mark.parametrize("table_id", ["TAB638", "TAB2538"])
def test_revise_table_scales_recorded_and_generated_values_and_keeps_nulls(roomy_scb, table_id):
    before = post_data(roomy_scb, table_id)

    roomy_scb.revise_table(table_id, "2026-03-01T07:00:00Z", scale=1.1)
    after = post_data(roomy_scb, table_id)

    assert after.get("status") == before.get("status")
    assert [v is None for v in after["value"]] == [v is None for v in before["value"]]
    pairs = [(old, new) for old, new in zip(before["value"], after["value"], strict=True) if old]
    assert len(pairs) >= 8  # recorded and generated cells
    assert [new for _, new in pairs] == [float(round(old * 1.1)) for old, _ in pairs]
    assert all(new != old for old, new in pairs)


def test_revised_dwellings_keep_their_null_cells(roomy_scb):
    roomy_scb.revise_table("TAB2538", "2026-06-01T06:00:00Z", scale=2.0)

    answer = post_data(roomy_scb, "TAB2538")

    assert answer["status"]["0"] == ".."
    assert answer["value"][0] is None


def test_revisions_compound_and_round_to_the_content_decimals(roomy_scb):
    before = post_data(roomy_scb, "TAB637")["value"]

    roomy_scb.revise_table("TAB637", "2026-03-01T07:00:00Z", scale=1.01)
    roomy_scb.revise_table("TAB637", "2026-03-02T07:00:00Z", scale=1.01)
    after = post_data(roomy_scb, "TAB637")

    assert after["value"] == [round(old * (1.01 * 1.01), 1) for old in before]
    assert after["value"] != before
    assert after["updated"] == "2026-03-02T07:00:00Z"
    assert post_data(roomy_scb, "TAB638")["updated"] == "2025-02-21T07:00:00Z"


def test_revise_table_with_the_default_scale_keeps_the_values(roomy_scb):
    before = post_data(roomy_scb, "TAB638")

    roomy_scb.revise_table("TAB638", "2026-03-01T07:00:00Z")
    after = post_data(roomy_scb, "TAB638")

    assert after["value"] == before["value"]
    assert after["updated"] != before["updated"]


def test_revise_table_refuses_unknown_tables_bad_stamps_and_scales(roomy_scb):
    with pytest.raises(KeyError, match="TAB0"):
        roomy_scb.revise_table("TAB0", "2026-03-01T07:00:00Z")
    with pytest.raises(ValueError, match="ISO 8601"):
        roomy_scb.revise_table("TAB638", "next tuesday")
    with pytest.raises(ValueError, match="above 0"):
        roomy_scb.revise_table("TAB638", "2026-03-01T07:00:00Z", scale=0)
    assert stamps(roomy_scb, "TAB638")["metadata"] == "2025-02-21T07:00:00Z"
