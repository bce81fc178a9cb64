import hashlib
import itertools
import json

import pytest

from sources.http import FetchError, HttpClient, IntervalLimiter
from sources.kolada import settings
from sources.kolada.client import KoladaClient, KoladaResponseError
from sources.kolada.planning import DataQuery, missing_ids, plan_data_queries
from tests.kolada_fixtures import FakeClock, answer, kolada_page, scripted_http, session_urls

BASE = "https://kolada.test/v3"


def kolada(script, clock=None):
    http = scripted_http(script, clock)
    return KoladaClient(BASE, http=http), http


def record(kpi="N00001", area="0115", year=2020, value=1.0):
    values = [{"gender": "T", "count": 1, "status": "", "value": value, "isdeleted": False}]
    return {"kpi": kpi, "municipality": area, "period": year, "values": values}


def test_pagination_follows_relative_next_url():
    client, http = kolada(
        [
            kolada_page([{"id": "N1"}], next_url="/v3/kpi?page=2&per_page=5000"),
            kolada_page([{"id": "N2"}], next_url="kpi?page=3&per_page=5000"),
            kolada_page([{"id": "N3"}]),
        ]
    )

    assert [kpi["id"] for kpi in client.kpis()] == ["N1", "N2", "N3"]
    assert session_urls(http) == [
        f"{BASE}/kpi?per_page=5000",
        f"{BASE}/kpi?page=2&per_page=5000",
        f"{BASE}/kpi?page=3&per_page=5000",
    ]


@pytest.mark.parametrize(
    "next_url",
    [
        "https://kolada.test/v3/municipality?page=2",
        "https://KOLADA.test:443/v3/municipality?page=2",
    ],
    ids=["same-base", "default-port-and-case"],
)
def test_pagination_follows_absolute_next_url_under_the_base(next_url):
    client, http = kolada([kolada_page([{"id": "0115"}], next_url), kolada_page([{"id": "0117"}])])

    assert [area["id"] for area in client.municipalities()] == ["0115", "0117"]
    assert session_urls(http)[1] == next_url


@pytest.mark.parametrize(
    "next_url",
    [
        "https://other.test/v3/municipality?page=2",
        "http://kolada.test/v3/municipality?page=2",
        "https://kolada.test:8443/v3/municipality?page=2",
        "https://kolada.test/v2/municipality?page=2",
        "https://kolada.test/v3/../admin?page=2",
        "https://kolada.test:x/v3/municipality?page=2",
    ],
    ids=["other-host", "other-scheme", "other-port", "other-path", "dot-segments", "bad-port"],
)
def test_pagination_refuses_a_next_url_outside_the_base(next_url):
    client, http = kolada([kolada_page([{"id": "0115"}], next_url)])

    with pytest.raises(KoladaResponseError, match="outside") as caught:
        client.municipalities()

    assert next_url in str(caught.value)
    assert caught.value.url == f"{BASE}/municipality?per_page=5000"
    assert len(session_urls(http)) == 1


def test_pagination_gives_up_after_max_pages_naming_the_query():
    pages = [kolada_page([{"id": f"N{n}"}], next_url=f"/v3/kpi?page={n}") for n in (2, 3, 4)]
    client = KoladaClient(BASE, http=scripted_http(pages), max_pages=3)

    with pytest.raises(KoladaResponseError, match="more than 3 pages") as caught:
        client.kpis()

    assert f"{BASE}/kpi?per_page=5000" in str(caught.value)
    assert caught.value.url == f"{BASE}/kpi?page=3"


def test_pagination_may_fill_exactly_max_pages():
    pages = [kolada_page([{"id": "N1"}], next_url="/v3/kpi?page=2"), kolada_page([{"id": "N2"}])]
    client = KoladaClient(BASE, http=scripted_http(pages), max_pages=2)

    assert [kpi["id"] for kpi in client.kpis()] == ["N1", "N2"]


def test_max_pages_defaults_to_the_settings_cap_and_must_be_positive():
    assert settings.MAX_PAGES_PER_QUERY == 2000
    assert KoladaClient(BASE).max_pages == settings.MAX_PAGES_PER_QUERY
    with pytest.raises(ValueError, match="max_pages"):
        KoladaClient(BASE, max_pages=0)


def test_pagination_stops_on_empty_page_even_with_next_url():
    client, http = kolada(
        [
            kolada_page([{"id": "G1"}], next_url="/v3/municipality_groups?page=2"),
            kolada_page([], next_url="/v3/municipality_groups?page=3"),
        ]
    )

    assert client.municipality_groups() == [{"id": "G1"}]
    assert len(session_urls(http)) == 2


def test_pagination_stops_on_repeated_next_url():
    client, _ = kolada(
        [
            kolada_page([{"id": "N1"}], next_url="/v3/kpi?page=2&per_page=5000"),
            kolada_page([{"id": "N2"}], next_url="/v3/kpi?page=2&per_page=5000"),
        ]
    )

    with pytest.raises(KoladaResponseError, match="loops") as caught:
        client.kpis()

    assert caught.value.url == f"{BASE}/kpi?page=2&per_page=5000"
    assert caught.value.url in str(caught.value)


def test_kpis_by_id_are_fetched_in_batches_of_at_most_25():
    ids = [f"N{number:05d}" for number in range(60)]
    client, http = kolada(
        [kolada_page([{"id": id_} for id_ in batch]) for batch in (ids[:20], ids[20:40], ids[40:])]
    )

    assert [kpi["id"] for kpi in client.kpis(ids)] == ids
    asked = [url.split("/kpi/")[1].split("?")[0].split(",") for url in session_urls(http)]
    assert [len(batch) for batch in asked] == [20, 20, 20]
    assert list(itertools.chain(*asked)) == ids


def test_kpis_by_id_asks_each_id_once():
    client, http = kolada([kolada_page([{"id": "N00001"}])])

    client.kpis(["N00001", "N00001"])

    assert session_urls(http) == [f"{BASE}/kpi/N00001?per_page=5000"]


def test_missing_ids_names_the_ids_kolada_answered_without_values():
    records = [{"id": "N00001"}, {"id": "N00003"}]

    assert missing_ids(["N00001", "N00002", "N00003", "N99999"], records) == ["N00002", "N99999"]
    assert missing_ids(["N00001"], [{"kpi": "N00001"}], key="kpi") == []


def test_plan_data_queries_uses_the_fewest_queries_of_at_most_25_each():
    kpis = [f"N{number:05d}" for number in range(60)]
    years = list(range(1990, 2020))

    queries = plan_data_queries(kpis, years)

    assert len(queries) == 3 * 2
    assert all(len(q.kpi_ids) <= 25 and len(q.years) <= 25 for q in queries)
    covered = [(k, y) for q in queries for k in q.kpi_ids for y in q.years]
    assert sorted(covered) == sorted(itertools.product(kpis, years))


def test_plan_data_queries_fits_small_requests_in_one_query():
    queries = plan_data_queries(["N00002", "N00001", "N00002"], [2021, 2020, 2021])

    assert queries == [DataQuery(("N00002", "N00001"), (2020, 2021))]
    assert queries[0].path == "/data/kpi/N00002,N00001/year/2020,2021"


def test_plan_data_queries_of_nothing_is_empty():
    assert plan_data_queries([], [2020]) == []
    assert plan_data_queries(["N00001"], []) == []


@pytest.mark.parametrize("bad", ["", "N1,N2", "N1/x", "N1 "])
def test_plan_data_queries_refuses_ids_that_would_break_the_path(bad):
    with pytest.raises(ValueError, match="not a Kolada id"):
        plan_data_queries([bad], [2020])


def test_fetch_data_asks_for_all_areas_per_batch_and_yields_raw_pages():
    first = kolada_page([record(year=2020), record(year=2021)], next_url="/v3/data/p2")
    second = kolada_page([record(area="0117")])
    client, http = kolada([first, second])

    pages = list(client.fetch_data(["N00001", "N00002"], [2021, 2020]))

    assert session_urls(http) == [
        f"{BASE}/data/kpi/N00001,N00002/year/2020,2021?per_page=5000",
        f"{BASE}/data/p2",
    ]
    assert [page.record_count for page in pages] == [2, 1]
    assert pages[0].body == first[1]
    assert pages[0].content_hash == hashlib.sha256(first[1]).hexdigest()
    assert pages[1].url == f"{BASE}/data/p2"


def test_fetch_data_splits_more_than_25_kpis_into_two_queries():
    kpis = [f"N{number:05d}" for number in range(30)]
    client, http = kolada([kolada_page([record()]), kolada_page([record()])])

    list(client.fetch_data(kpis, [2020]))

    paths = [url.split("?")[0] for url in session_urls(http)]
    assert paths == [
        f"{BASE}/data/kpi/{','.join(kpis[:15])}/year/2020",
        f"{BASE}/data/kpi/{','.join(kpis[15:])}/year/2020",
    ]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("<html><body>Service Unavailable</body></html>", "not JSON"),
        ('{"values": [{"kpi": "N00001", "munic', "not JSON"),
        ('{"count": 0, "next_url": null}', "no 'values'"),
        ('{"values": {"kpi": "N00001"}}', "not a list"),
        ('{"values": [1, 2]}', "other than records"),
        ('[{"kpi": "N00001"}]', "not an object"),
        ('{"values": [], "next_url": 2}', "'next_url'"),
        (b"\xff\xfe\x00", "not JSON"),
    ],
    ids=["html", "truncated", "no-values", "values-dict", "values-scalars", "bare-list",
         "bad-next", "binary"],
)  # fmt: skip
def test_malformed_body_raises_kolada_response_error_naming_the_url(body, problem):
    client, _ = kolada([answer(200, body)])

    with pytest.raises(KoladaResponseError) as caught:
        list(client.fetch_data(["N00001"], [2020]))

    url = f"{BASE}/data/kpi/N00001/year/2020?per_page=5000"
    assert isinstance(caught.value, FetchError)
    assert caught.value.url == url
    assert url in str(caught.value)
    assert problem in str(caught.value)


def test_429_with_retry_after_then_success():
    clock = FakeClock()
    client, http = kolada(
        [answer(429, b"slow down", {"Retry-After": "3"}), kolada_page([{"id": "N1"}])], clock
    )

    assert client.kpis() == [{"id": "N1"}]
    assert clock.sleeps == [3.0]
    assert http.requests_made == 2


def test_base_url_comes_from_argument_then_environment_then_default(monkeypatch):
    monkeypatch.delenv(settings.BASE_URL_ENV, raising=False)
    assert KoladaClient(http=HttpClient()).base_url == "https://api.kolada.se/v3"

    monkeypatch.setenv(settings.BASE_URL_ENV, "http://127.0.0.1:9/v3/")
    assert KoladaClient(http=HttpClient()).base_url == "http://127.0.0.1:9/v3"
    assert KoladaClient("http://x.test/v3", http=HttpClient()).base_url == "http://x.test/v3"


def test_default_throttle_is_five_requests_per_second(monkeypatch):
    monkeypatch.delenv(settings.RATE_ENV, raising=False)

    limiter = KoladaClient(BASE).http.limiter

    assert isinstance(limiter, IntervalLimiter)
    assert limiter.interval == pytest.approx(0.2)


def test_throttle_comes_from_environment(monkeypatch):
    monkeypatch.setenv(settings.RATE_ENV, "2")
    limiter = KoladaClient(BASE).http.limiter
    assert isinstance(limiter, IntervalLimiter)
    assert limiter.interval == pytest.approx(0.5)

    monkeypatch.setenv(settings.RATE_ENV, "fast")
    with pytest.raises(ValueError, match=settings.RATE_ENV):
        KoladaClient(BASE)


def test_explicit_rate_overrides_environment(monkeypatch):
    monkeypatch.setenv(settings.RATE_ENV, "2")

    client = KoladaClient(BASE, rate_per_second=10)

    assert isinstance(client.http.limiter, IntervalLimiter)
    assert client.http.limiter.interval == pytest.approx(0.1)
    assert client.rate_per_second == 10


def test_given_http_client_keeps_its_limiter_and_refuses_a_second_rate(monkeypatch):
    monkeypatch.setenv(settings.RATE_ENV, "3")
    http = HttpClient()

    client = KoladaClient(BASE, http=http)

    assert client.http is http
    assert http.limiter is None
    assert client.rate_per_second == 3.0
    with pytest.raises(ValueError, match="either http or rate_per_second"):
        KoladaClient(BASE, http=http, rate_per_second=1)


def test_per_page_above_kolada_maximum_is_refused():
    with pytest.raises(ValueError, match="per_page"):
        KoladaClient(BASE, per_page=10_000)


def test_kolada_response_error_keeps_the_body_for_diagnosis():
    client, _ = kolada([answer(200, "<html>oops</html>")])

    with pytest.raises(KoladaResponseError) as caught:
        client.municipalities()

    assert caught.value.body == b"<html>oops</html>"
    assert caught.value.status == 200
    assert json.dumps(str(caught.value))  # a plain, serialisable message
