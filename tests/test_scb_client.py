"""ScbClient against a fake transport that checks every request, on recorded SCB answers."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest

from sources.http import FetchError, HttpClient, IntervalLimiter, RetryPolicy, SlidingWindowLimiter
from sources.scb import settings
from sources.scb.client import ScbApiError, ScbClient, ScbResponseError, shared_limiter
from sources.scb.planning import (
    ScbSelectionError,
    count_cells,
    plan_data_calls,
    resolve_selection,
)

FIXTURES = Path(__file__).parent / "fixtures" / "scb"
BASE = "https://scb.test/api/v2"
CONFIG = json.loads((FIXTURES / "v2_config__pxwebpy_fixture.json").read_text("utf-8"))
METADATA = json.loads((FIXTURES / "v2_TAB6471_metadata__pxwebpy.json").read_text("utf-8"))
DATA = (FIXTURES / "v2_TAB6471_data_jsonstat2__pxwebpy.json").read_bytes()
ALDER_CODELIST = json.loads((FIXTURES / "v2_codelist_agg_Alder10arJ__pxwebpy.json").read_text())
KOMMUNER = [c for c in METADATA["dimension"]["Region"]["category"]["index"] if len(c) == 4]

Answer = tuple[int, Any, dict[str, str]]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeSession:
    """Answers like SCB from a route function and records every request it gets."""

    def __init__(self, route: Callable[[str, str, dict, Any], Answer]):
        self.route = route
        self.calls: list[tuple[str, str, dict, Any]] = []

    def request(self, method, url, params=None, json=None, **_options):
        params = dict(params or {})
        self.calls.append((method, url.removeprefix(BASE), params, json))
        status, body, headers = self.route(method, url.removeprefix(BASE), params, json)
        content = body if isinstance(body, bytes) else _json_bytes(body)
        return SimpleNamespace(
            status_code=status,
            content=content,
            headers=headers,
            url=url + ("?" + urlencode(params) if params else ""),
            request=SimpleNamespace(body=_json_bytes(json) if json is not None else None),
        )

    def paths(self, method: str | None = None) -> list[str]:
        return [path for m, path, _, _ in self.calls if method is None or m == method]


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def scb_route(
    config: dict | None = None, data: Callable[[dict], Answer] | None = None
) -> Callable[[str, str, dict, Any], Answer]:
    def route(method: str, path: str, params: dict, body: Any) -> Answer:
        if path == "/config":
            return 200, config or CONFIG, {}
        if path == "/tables/TAB6471/metadata":
            return 200, METADATA, {}
        if path == "/codelists/vs_CKM03Kommun":
            values = [{"code": c, "label": c, "valueMap": [c]} for c in KOMMUNER]
            return 200, {"id": "vs_CKM03Kommun", "type": "Valueset", "values": values}, {}
        if path == "/tables/TAB6471/data" and method == "POST":
            return data(body) if data else (200, DATA, {})
        problem = {"type": "Parameter error", "title": "Non-existent table", "status": 404}
        return 404, problem, {"Content-Type": "application/problem+json"}

    return route


def make_client(route, clock: FakeClock | None = None) -> tuple[ScbClient, FakeSession, FakeClock]:
    clock = clock or FakeClock()
    session = FakeSession(route)
    limiter = SlidingWindowLimiter(1, 1.0, clock=clock, sleep=clock.sleep)
    http = HttpClient(
        session=session,
        sleep=clock.sleep,
        clock=clock,
        policy=RetryPolicy(max_attempts=4, base_delay=0.01, max_total_seconds=60),
    )
    return ScbClient(BASE, http=http, limiter=limiter), session, clock


SELECTION = {
    "Region": ["0115", "0180"],
    "Alder": "TotSA",
    "Kon": "*",
    "ContentsCode": "000007SF",
    "Tid": "TOP(2)",
}


# -- requests --------------------------------------------------------------------------


def test_data_is_posted_with_the_exact_resolved_selection():
    client, session, _ = make_client(scb_route())

    client.fetch_table("TAB6471", SELECTION)

    method, path, params, body = session.calls[-1]
    assert (method, path) == ("POST", "/tables/TAB6471/data")
    assert params == {"lang": "sv", "outputFormat": "json-stat2"}
    assert body == {
        "selection": [
            {"variableCode": "Region", "valueCodes": ["0115", "0180"]},
            {"variableCode": "Alder", "valueCodes": ["TotSA"]},
            {"variableCode": "Kon", "valueCodes": ["TotSa", "1", "2"]},
            {"variableCode": "ContentsCode", "valueCodes": ["000007SF"]},
            {"variableCode": "Tid", "valueCodes": ["2026M03", "2026M04"]},
        ]
    }


def test_a_codelist_selection_names_the_codelist_and_uses_its_values():
    client, session, _ = make_client(scb_route())

    client.fetch_table(
        "TAB6471", {**SELECTION, "Region": {"codelist": "vs_CKM03Kommun", "values": ["01??"]}}
    )

    body = session.calls[-1][3]
    region = body["selection"][0]
    assert region["codelist"] == "vs_CKM03Kommun"
    assert region["valueCodes"] == [c for c in KOMMUNER if c.startswith("01")]
    assert "/codelists/vs_CKM03Kommun" in session.paths("GET")


def test_config_is_read_once_and_sets_the_limiter():
    client, session, _ = make_client(scb_route())

    client.fetch_table("TAB6471", SELECTION)
    client.fetch_table("TAB6471", {**SELECTION, "Tid": "TOP(1)"})
    client.table_metadata("TAB6471")

    assert session.paths().count("/config") == 1
    assert session.paths().count("/tables/TAB6471/metadata") == 1
    assert client.limiter.max_calls == CONFIG["maxCallsPerTimeWindow"]
    assert client.limiter.window == CONFIG["timeWindow"] + settings.WINDOW_MARGIN_SECONDS


def test_every_call_waits_for_the_window_limit_from_config():
    config = {**CONFIG, "maxCallsPerTimeWindow": 2, "timeWindow": 10}
    client, session, clock = make_client(scb_route(config))

    client.fetch_table("TAB6471", SELECTION)  # config, metadata, data: the third waits
    client.fetch_table("TAB6471", {**SELECTION, "Tid": "TOP(1)"})  # data: the fourth

    assert len(session.calls) == 4
    assert clock.now >= 10 + settings.WINDOW_MARGIN_SECONDS


def test_search_follows_every_page():
    listing = json.loads((FIXTURES / "v2_tables_list__pxwebpy_trimmed.json").read_text("utf-8"))

    def route(method, path, params, body):
        if path == "/config":
            return 200, CONFIG, {}
        page = params["pageNumber"]
        answer = {**listing, "tables": listing["tables"][page - 1 : page], "page": {
            **listing["page"], "pageNumber": page, "totalPages": 3}}  # fmt: skip
        return 200, answer, {}

    client, session, _ = make_client(route)

    found = client.search_tables("befolkning")

    assert [t["id"] for t in found] == ["TAB4707", "TAB4714", "TAB4718"]
    assert [c[2]["pageNumber"] for c in session.calls[1:]] == [1, 2, 3]
    assert session.calls[1][2]["query"] == "befolkning"
    assert session.calls[1][2]["lang"] == "sv"


def test_an_http_client_throttled_for_another_service_is_refused():
    with pytest.raises(ValueError, match="limiter"):
        ScbClient(BASE, http=HttpClient(limiter=IntervalLimiter(5)))


def test_clients_share_one_process_wide_limiter_by_default():
    assert ScbClient(BASE).limiter is shared_limiter()
    assert ScbClient(BASE).http.limiter is shared_limiter()


# -- refusals --------------------------------------------------------------------------


def test_a_problem_json_400_becomes_an_error_quoting_title_table_and_value_without_retry():
    problem = {
        "type": "Parameter error",
        "title": "Non-existent value",
        "status": 400,
        "detail": "Value 0180 does not exist for variable Region",
    }
    client, session, _ = make_client(
        scb_route(data=lambda body: (400, problem, {"Content-Type": "application/problem+json"}))
    )

    with pytest.raises(ScbApiError) as caught:
        client.fetch_table("TAB6471", SELECTION)

    error = caught.value
    assert isinstance(error, FetchError)
    assert (error.title, error.table_id, error.variable, error.value) == (
        "Non-existent value",
        "TAB6471",
        "Region",
        "0180",
    )
    assert "Non-existent value" in str(error) and "TAB6471" in str(error)
    assert "'0180'" in str(error)
    assert session.paths("POST") == ["/tables/TAB6471/data"]


def test_a_400_without_detail_still_names_table_and_the_selection_sent():
    problem = {"type": "Parameter error", "title": "Too many cells selected", "status": 400}
    client, _, _ = make_client(scb_route(data=lambda body: (400, problem, {})))

    with pytest.raises(
        ScbApiError, match=r"TAB6471.*Too many cells selected.*Region=\[0115,0180\]"
    ):
        client.fetch_table("TAB6471", SELECTION)


def test_an_unknown_table_is_a_404_error_naming_it():
    client, session, _ = make_client(scb_route())

    with pytest.raises(ScbApiError, match=r"TAB9999.*Non-existent table") as caught:
        client.table_metadata("TAB9999")

    assert caught.value.status == 404
    assert session.paths().count("/tables/TAB9999/metadata") == 1


def test_429_waits_as_long_as_retry_after_says():
    answers = iter([(429, b"", {"Retry-After": "7"}), (200, DATA, {})])
    client, session, clock = make_client(scb_route(data=lambda body: next(answers)))

    client.fetch_table("TAB6471", SELECTION)

    assert session.paths("POST") == ["/tables/TAB6471/data"] * 2
    assert max(clock.sleeps) >= 7


def test_a_cut_off_data_answer_with_status_200_fails_naming_the_call():
    client, session, _ = make_client(scb_route(data=lambda body: (200, DATA[:-40], {})))

    with pytest.raises(ScbResponseError, match="cut off") as caught:
        client.fetch_table("TAB6471", SELECTION)

    url = f"{BASE}/tables/TAB6471/data?lang=sv&outputFormat=json-stat2"
    assert f"POST {url}" in str(caught.value)
    assert caught.value.url == url
    assert session.paths("POST") == ["/tables/TAB6471/data"]


def test_an_html_metadata_answer_fails_naming_the_call():
    html = b"<html><body>Underh\xc3\xa5ll</body></html>"
    client, _, _ = make_client(
        lambda method, path, params, body: (
            (200, html, {})
            if path.endswith("/metadata")
            else scb_route()(method, path, params, body)
        )
    )

    with pytest.raises(ScbResponseError, match="HTML page") as caught:
        client.table_metadata("TAB6471")

    assert f"GET {BASE}/tables/TAB6471/metadata?" in str(caught.value)


# -- selections (pure) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "expression", "expected"),
    [
        ("Tid", "TOP(3)", ["2026M02", "2026M03", "2026M04"]),
        ("Tid", "TOP(2,1)", ["2026M02", "2026M03"]),
        ("Tid", "BOTTOM(2)", ["2025M01", "2025M02"]),
        ("Tid", "FROM(2026M03)", ["2026M03", "2026M04"]),
        ("Tid", "TO(2025M02)", ["2025M01", "2025M02"]),
        ("Tid", "RANGE(2025M12,2026M02)", ["2025M12", "2026M01", "2026M02"]),
        ("Tid", "2026M0?", ["2026M01", "2026M02", "2026M03", "2026M04"]),
        ("Kon", "TOP(2)", ["TotSa", "1"]),
        ("Kon", "BOTTOM(1)", ["2"]),
        ("Kon", "totsa", ["TotSa"]),
        ("Region", "018?", ["0180", "0181", "0182", "0183", "0184", "0186", "0187", "0188"]),
        ("Alder", "100+*", ["100+", "100+10", "100+5"]),
        ("Alder", "*-9", ["0-9", "5-9"]),
    ],
)
def test_expressions_expand_in_the_tables_category_order(variable, expression, expected):
    base = {"Region": "00", "Alder": "TotSA", "ContentsCode": "*", "Tid": "2025M01"}

    resolved = resolve_selection(METADATA, {**base, variable: expression})

    assert resolved[variable] == expected


def test_an_omitted_eliminable_variable_is_left_out():
    resolved = resolve_selection(
        METADATA, {"Region": "0115", "Alder": "TotSA", "ContentsCode": "*", "Tid": "*"}
    )

    assert list(resolved) == ["Region", "Alder", "ContentsCode", "Tid"]


def test_an_omitted_mandatory_variable_is_an_error():
    with pytest.raises(ScbSelectionError, match=r"TAB6471.*'Alder' cannot be eliminated"):
        resolve_selection(METADATA, {"ContentsCode": "*", "Tid": "*"})


def test_a_missing_value_is_an_error_naming_table_variable_and_value():
    with pytest.raises(
        ScbSelectionError, match="TAB6471: value '9999' does not exist in variable 'Region'"
    ):
        resolve_selection(METADATA, {**SELECTION, "Region": ["0115", "9999"]})


def test_a_missing_variable_is_an_error_naming_it():
    with pytest.raises(ScbSelectionError, match="TAB6471: variable 'Civilstand' does not exist"):
        resolve_selection(METADATA, {**SELECTION, "Civilstand": "*"})


def test_a_codelist_the_variable_lacks_is_an_error():
    selection = {**SELECTION, "Alder": {"codelist": "agg_Ålder10årJ", "values": ["*"]}}

    with pytest.raises(ScbSelectionError, match="'Alder' has no codelist 'agg_Ålder10årJ'"):
        resolve_selection(METADATA, selection, {"agg_Ålder10årJ": ALDER_CODELIST})


def test_an_illegal_expression_is_an_error():
    with pytest.raises(ScbSelectionError, match="illegal selection expression 'TOP\\(x\\)'"):
        resolve_selection(METADATA, {**SELECTION, "Tid": "TOP(x)"})


# -- splitting (pure) ------------------------------------------------------------------


def assert_exact_cover(resolved: dict[str, list[str]], calls: list[dict[str, list[str]]], limit):
    cells = set()
    for call in calls:
        assert count_cells(call) <= limit
        part = {tuple(zip(call, combo, strict=True)) for combo in _product(call)}
        assert not part & cells
        cells |= part
    assert len(cells) == count_cells(resolved)


def _product(call):
    return itertools.product(*call.values())


def test_a_selection_four_times_the_limit_splits_into_four_calls():
    resolved = {"Region": KOMMUNER, "Kon": ["1", "2"], "Tid": [str(y) for y in range(2001, 2005)]}
    limit = count_cells(resolved) // 4

    calls = plan_data_calls(resolved, limit)

    assert len(calls) == 4
    assert_exact_cover(resolved, calls, limit)


def test_splitting_needs_no_more_than_ceil_cells_over_limit_when_one_variable_suffices():
    resolved = {"Region": KOMMUNER, "Kon": ["1", "2"], "Tid": [str(y) for y in range(1968, 2025)]}

    calls = plan_data_calls(resolved, 10_000)

    assert len(calls) == math.ceil(count_cells(resolved) / 10_000)
    assert_exact_cover(resolved, calls, 10_000)


def test_splitting_goes_on_when_one_value_of_the_largest_variable_is_too_big():
    resolved = {"A": list("abcdefghij"), "B": list("0123456789"), "C": list("klmnopqrst")}

    calls = plan_data_calls(resolved, 5)

    assert len(calls) == 200
    assert_exact_cover(resolved, calls, 5)


def test_a_selection_within_the_limit_is_one_call():
    resolved = {"Region": ["0115"], "Tid": ["2024"]}

    assert plan_data_calls(resolved, 2) == [resolved]


def test_fetch_table_posts_every_planned_part():
    config = {**CONFIG, "maxDataCells": 2}
    client, session, _ = make_client(scb_route(config))

    client.fetch_table("TAB6471", {**SELECTION, "Tid": "TOP(4)"})  # 2 × 3 × 4 = 24 cells

    posts = [c[3] for c in session.calls if c[0] == "POST"]
    assert len(posts) == 12
    sizes = [math.prod(len(s["valueCodes"]) for s in body["selection"]) for body in posts]
    assert max(sizes) <= 2 and sum(sizes) == 24
