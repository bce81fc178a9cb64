import itertools
import json
import math
from datetime import date

import pytest
import requests

from fakes.kolada_server import FakeKolada
from fakes.sample_data import (
    SampleValues,
    load_kpi_catalogue,
    load_municipalities,
    load_municipality_groups,
    sample_kolada,
)
from sources.http import HttpClient, RetryPolicy
from sources.kolada.client import KoladaClient, KoladaResponseError
from sources.kolada.planning import plan_data_queries
from tests.kolada_fixtures import SMALL_AREAS, SMALL_GROUPS, SMALL_KPIS, FakeClock, small_kolada


@pytest.fixture
def kolada_fake():
    with small_kolada() as fake:
        yield fake


def get(fake, path, **params):
    return requests.get(fake.base_url + path, params=params, timeout=5)


def client_for(fake, clock=None):
    clock = clock or FakeClock()
    http = HttpClient(sleep=clock.sleep, clock=clock, policy=RetryPolicy(base_delay=0.01))
    return KoladaClient(fake.base_url, http=http)


def test_base_url_is_a_local_v3_root(kolada_fake):
    assert kolada_fake.base_url.startswith("http://127.0.0.1:")
    assert kolada_fake.base_url.endswith("/v3")


def test_answers_the_v3_envelope(kolada_fake):
    body = get(kolada_fake, "/municipality").json()

    assert set(body) == {"values", "count", "next_url", "previous_url"}
    assert body["count"] == len(body["values"]) == 5
    assert body["next_url"] is None
    assert body["previous_url"] is None


def test_pages_follow_per_page_and_page_with_relative_links(kolada_fake):
    first = get(kolada_fake, "/municipality", per_page=2).json()
    last = get(kolada_fake, "/municipality", per_page=2, page=3).json()

    assert [area["id"] for area in first["values"]] == ["0000", "0001"]
    assert first["count"] == 2
    assert first["next_url"] == "/v3/municipality?per_page=2&page=2"
    assert [area["id"] for area in last["values"]] == ["0117"]
    assert last["next_url"] is None
    assert last["previous_url"] == "/v3/municipality?per_page=2&page=2"


def test_per_page_is_capped_at_5000():
    values = {("N00001", "0115", year): [{"gender": "T", "value": 1.0}] for year in range(6000)}
    with FakeKolada(SMALL_KPIS, SMALL_AREAS, SMALL_GROUPS, values) as fake:
        body = get(fake, "/data/kpi/N00001/municipality/0115", per_page=9999).json()

    assert body["count"] == 5000
    assert body["next_url"] is not None


def test_absolute_next_url_option_gives_full_links():
    with small_kolada(absolute_next_url=True) as fake:
        body = get(fake, "/kpi", per_page=1).json()
        base_url = fake.base_url

    assert body["next_url"] == f"{base_url}/kpi?per_page=1&page=2"


@pytest.mark.parametrize(
    "path",
    [
        "/kpi/" + ",".join(f"N{n:05d}" for n in range(26)),
        "/municipality/" + ",".join(f"{n:04d}" for n in range(26)),
        "/data/kpi/N00001/year/" + ",".join(str(y) for y in range(1990, 2016)),
        "/data/kpi/N00001/municipality/" + ",".join(f"{n:04d}" for n in range(26)) + "/year/2020",
    ],
    ids=["kpi", "municipality", "year", "data-municipality"],
)
def test_more_than_25_ids_is_refused_with_400(kolada_fake, path):
    response = get(kolada_fake, path)

    assert response.status_code == 400
    assert "at most 25" in response.json()["detail"]


def test_unknown_ids_answer_200_with_no_values(kolada_fake):
    for path in ("/kpi/N99999", "/municipality/9999", "/data/kpi/N99999/year/2020"):
        response = get(kolada_fake, path)
        assert response.status_code == 200
        assert response.json()["values"] == []


def test_ids_select_records(kolada_fake):
    body = get(kolada_fake, "/kpi/U00003,N00001").json()

    assert sorted(kpi["id"] for kpi in body["values"]) == ["N00001", "U00003"]


def test_title_search_is_case_insensitive(kolada_fake):
    kpis = get(kolada_fake, "/kpi", title="kommunen").json()["values"]
    areas = get(kolada_fake, "/municipality", title="VALLEN").json()["values"]

    assert [kpi["id"] for kpi in kpis] == ["U00003"]
    assert [area["id"] for area in areas] == ["0115"]


def test_region_type_filters_areas(kolada_fake):
    areas = get(kolada_fake, "/municipality", region_type="L").json()["values"]

    assert [area["id"] for area in areas] == ["0000", "0001"]


def test_municipality_groups_list_members(kolada_fake):
    groups = get(kolada_fake, "/municipality_groups/G1").json()["values"]

    assert [member["member_id"] for member in groups[0]["members"]] == ["0114", "0115", "0117"]


def test_data_records_have_the_v3_shape(kolada_fake):
    records = get(kolada_fake, "/data/kpi/N00001/year/2020").json()["values"]

    assert [record["municipality"] for record in records] == [
        "0000",
        "0001",
        "0114",
        "0115",
        "0117",
    ]
    assert records[3] == {
        "kpi": "N00001",
        "municipality": "0115",
        "period": 2020,
        "values": [{"gender": "T", "count": 1, "status": "", "value": 40.0, "isdeleted": False}],
    }


def test_data_for_one_area_covers_all_years(kolada_fake):
    records = get(kolada_fake, "/data/kpi/N00001/municipality/0115").json()["values"]

    assert [(record["period"], record["values"][0]["value"]) for record in records] == [
        (2020, 40.0),
        (2021, 41.0),
    ]


def test_group_id_answers_the_unweighted_mean_of_its_members(kolada_fake):
    records = get(kolada_fake, "/data/kpi/N00001/municipality/G1,0115/year/2020,2021").json()
    by_key = {(r["municipality"], r["period"]): r["values"][0] for r in records["values"]}

    # Members 0114, 0115 and 0117 have 30, 40, 50 in 2020; 31, 41 and null in 2021.
    assert by_key["G1", 2020]["value"] == pytest.approx(40.0)
    assert by_key["G1", 2020]["count"] == 3
    assert by_key["G1", 2021]["value"] == pytest.approx(36.0)
    assert by_key["G1", 2021]["count"] == 2
    assert by_key["0115", 2021]["value"] == 41.0


def test_unknown_path_is_404_json(kolada_fake):
    response = get(kolada_fake, "/nothing")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_request_log_separates_data_and_metadata(kolada_fake):
    get(kolada_fake, "/kpi", title="x")
    get(kolada_fake, "/data/kpi/N00001/year/2020")

    assert [(r.path, r.query) for r in kolada_fake.metadata_requests()] == [
        ("/v3/kpi", {"title": "x"})
    ]
    assert [r.path for r in kolada_fake.data_requests()] == ["/v3/data/kpi/N00001/year/2020"]


def test_injected_fault_answers_the_given_number_of_times_then_real_data(kolada_fake):
    kolada_fake.inject("/data", status=500, body=b"boom", times=2)

    statuses = [get(kolada_fake, "/data/kpi/N00001/year/2020").status_code for _ in range(3)]

    assert statuses == [500, 500, 200]
    assert get(kolada_fake, "/kpi").status_code == 200


def test_client_recovers_from_injected_429_with_retry_after(kolada_fake):
    kolada_fake.inject("/data", status=429, headers={"Retry-After": "2"}, body="{}")
    clock = FakeClock()

    pages = list(client_for(kolada_fake, clock).fetch_data(["N00001"], [2020]))

    assert [page.record_count for page in pages] == [5]
    assert clock.sleeps == [2.0]
    assert len(kolada_fake.data_requests()) == 2


def test_client_refuses_injected_html_page_with_status_200(kolada_fake):
    kolada_fake.inject(
        "/kpi", body="<html><h1>Maintenance</h1></html>", headers={"Content-Type": "text/html"}
    )

    with pytest.raises(KoladaResponseError, match="not JSON") as caught:
        client_for(kolada_fake).kpis()

    assert caught.value.url.startswith(f"{kolada_fake.base_url}/kpi")


def test_client_refuses_injected_truncated_json(kolada_fake):
    kolada_fake.inject("/data", body='{"values": [{"kpi": "N00001", "munici')

    with pytest.raises(KoladaResponseError, match="/data/kpi/N00001/year/2020"):
        list(client_for(kolada_fake).fetch_data(["N00001"], [2020]))


def test_client_fails_on_injected_next_url_cycle(kolada_fake):
    kolada_fake.inject("/municipality", next_url_cycle=True)

    with pytest.raises(KoladaResponseError, match="loops"):
        client_for(kolada_fake).municipalities()

    assert len(kolada_fake.metadata_requests()) == 1


def test_client_reads_metadata_and_names_missing_kpis(kolada_fake):
    client = client_for(kolada_fake)

    assert len(client.kpis(["N00001", "N99999"])) == 1
    assert [area["id"] for area in client.municipalities()] == [
        "0000",
        "0001",
        "0114",
        "0115",
        "0117",
    ]
    assert [group["id"] for group in client.municipality_groups()] == ["G1"]


def test_bundled_sample_metadata_is_the_real_catalogue():
    assert len(load_kpi_catalogue()) == 6099
    areas = load_municipalities()
    assert len(areas) == 312
    assert sum(area["type"] == "K" for area in areas) == 290
    assert len(load_municipality_groups()) == 3630


def test_sample_values_are_deterministic_with_genders_and_some_nulls():
    catalogue = [
        {"id": "N1", "is_divided_by_gender": False},
        {"id": "N2", "is_divided_by_gender": 1},
    ]
    values = SampleValues(catalogue)
    again = SampleValues(catalogue)

    areas = [f"{area:04d}" for area in range(300)]
    grid = list(itertools.product(["N1", "N2"], areas, [2020, 2021]))
    generated = [values(*key) for key in grid]

    assert generated == [again(*key) for key in grid]
    assert {v["gender"] for v in values("N1", "0115", 2020) or []} == {"T"}
    assert [v["gender"] for v in values("N2", "0115", 2020) or []] == ["T", "K", "M"]
    nulls = sum(v["value"] is None for record in generated for v in record or [])
    assert 0 < nulls < len(grid) * 0.1
    assert values("N404", "0115", 2020) is None
    assert values("N1", "0115", 2020) != values("N1", "0115", 2021)


def test_fetching_20_kpis_for_312_areas_and_11_years_takes_at_most_pages_plus_one_requests():
    kpis = [kpi["id"] for kpi in load_kpi_catalogue()[:20]]
    years = list(range(2010, 2021))
    with FakeKolada(**sample_kolada()) as fake:
        client = client_for(fake)
        catalogue = client.kpis(kpis)
        areas = client.municipalities()
        metadata_requests = len(fake.metadata_requests())
        pages = list(client.fetch_data(kpis, years))

    queries = plan_data_queries(kpis, years)
    records = sum(page.record_count for page in pages)
    assert len(catalogue) == 20
    assert len(areas) == 312
    assert metadata_requests == 2
    assert len(queries) == 1
    assert records == 20 * 11 * 312
    assert len(fake.data_requests()) <= math.ceil(records / 5000) + 1
    assert all(r.path == "/v3/" + queries[0].path[1:] for r in fake.data_requests())
    assert len(fake.metadata_requests()) == metadata_requests
    body = json.loads(pages[0].body)
    assert body["count"] == 5000


def _kpi_ids(count: int) -> list[str]:
    return [kpi["id"] for kpi in load_kpi_catalogue()[:count]]


def test_queries_fetched_side_by_side_give_every_page_once():
    kpi_ids = _kpi_ids(60)  # three queries of at most 25 KPIs
    with FakeKolada(**sample_kolada()) as fake:
        client = KoladaClient(fake.base_url, rate_per_second=1000, per_page=2000)
        serial = {page.url: page.content_hash for page in client.fetch_data(kpi_ids, [2020])}
        together = [page.url for page in client.fetch_data(kpi_ids, [2020], workers=4)]

    assert len(plan_data_queries(kpi_ids, [2020])) == 3
    assert len(serial) > 3  # several pages per query
    assert sorted(together) == sorted(serial)


def test_a_bad_data_page_among_queries_in_flight_fails_naming_its_url():
    from transforms.kolada import kolada_page_observations

    def read(response):
        page = kolada_page_observations(response.body, response.content_hash)
        return page.observations, page.next_url, page.records

    with FakeKolada(**sample_kolada()) as fake:
        fake.inject("/data", body='{"values": [{"kpi": "N0', times=1)
        client = KoladaClient(fake.base_url, rate_per_second=1000)
        with pytest.raises(KoladaResponseError, match="/data/kpi/") as caught:
            list(client.fetch_data(_kpi_ids(60), [2020], read=read, workers=4))

    assert "did not answer a Kolada JSON page" in str(caught.value)


# -- revisions between two refreshes: revise, delete and from_date -------------------------


def values_of(body):
    return {(r["municipality"], r["period"]): r["values"] for r in body["values"]}


@pytest.fixture
def revised_fake():
    """The small fake published 2024-01-01; on 2024-03-01 one value is revised, one record
    added and one deleted (0114 2020)."""
    with small_kolada(published=date(2024, 1, 1)) as fake:
        fake.today = date(2024, 3, 1)
        fake.revise("N00001", "0115", 2020, [{"gender": "T", "value": 99.0}])
        fake.revise("N00001", "0115", 2022, [{"gender": "T", "value": 7.0, "count": 2}])
        fake.delete("N00001", "0114", 2020)
        yield fake


@pytest.mark.parametrize("since", ["2024-03-01", "2024-02-01"])
def test_from_date_answers_only_revised_added_and_deleted_records(revised_fake, since):
    body = get(revised_fake, "/data/kpi/N00001/year/2020,2021,2022", from_date=since).json()

    assert values_of(body) == {
        ("0114", 2020): [
            {"gender": "T", "count": 1, "status": "", "value": None, "isdeleted": True}
        ],
        ("0115", 2020): [
            {"gender": "T", "count": 1, "status": "", "value": 99.0, "isdeleted": False}
        ],
        ("0115", 2022): [
            {"gender": "T", "count": 2, "status": "", "value": 7.0, "isdeleted": False}
        ],
    }


def test_without_from_date_deleted_values_are_left_out_and_revisions_served(revised_fake):
    body = get(revised_fake, "/data/kpi/N00001/year/2020,2022").json()
    found = values_of(body)

    assert ("0114", 2020) not in found
    assert [key for key in found if key[1] == 2020] == [
        ("0000", 2020),
        ("0001", 2020),
        ("0115", 2020),
        ("0117", 2020),
    ]
    assert found["0115", 2020][0]["value"] == 99.0
    assert found["0115", 2022][0]["value"] == 7.0
    assert all(not v["isdeleted"] for values in found.values() for v in values)


def test_a_from_date_after_the_last_change_answers_nothing(revised_fake):
    body = get(revised_fake, "/data/kpi/N00001/year/2020,2021,2022", from_date="2024-03-02").json()

    assert body["values"] == []


def test_a_from_date_on_or_before_publication_answers_every_current_and_deleted_value():
    with small_kolada(published=date(2024, 1, 1)) as fake:
        fake.today = date(2024, 3, 1)
        fake.delete("N00001", "0114", 2020)
        everything = values_of(
            get(fake, "/data/kpi/N00001/year/2020", from_date="2024-01-01").json()
        )
        after = values_of(get(fake, "/data/kpi/N00001/year/2020", from_date="2024-01-02").json())

    assert sorted(everything) == [
        ("0000", 2020),
        ("0001", 2020),
        ("0114", 2020),
        ("0115", 2020),
        ("0117", 2020),
    ]
    assert everything["0114", 2020][0]["isdeleted"] is True
    assert everything["0115", 2020][0]["value"] == 40.0
    assert list(after) == [("0114", 2020)]


def test_published_defaults_to_2000_01_01():
    with small_kolada() as fake:
        on = get(fake, "/data/kpi/N00001/year/2020", from_date="2000-01-01").json()
        after = get(fake, "/data/kpi/N00001/year/2020", from_date="2000-01-02").json()

    assert on["count"] == 5
    assert after["values"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/data/kpi/N00001/municipality/0114,0115",
        "/data/kpi/N00001/municipality/0114,0115/year/2020",
        "/data/kpi/N00001/year/2020",
    ],
    ids=["kpi-municipality", "kpi-municipality-year", "kpi-year"],
)
def test_from_date_filters_every_path_form(revised_fake, path):
    body = get(revised_fake, path, from_date="2024-03-01").json()

    assert {key: values[0]["isdeleted"] for key, values in values_of(body).items()} == {
        ("0114", 2020): True,
        ("0115", 2020): False,
        **({("0115", 2022): False} if "year" not in path else {}),
    }


def test_from_date_counts_each_value_and_keeps_the_others_of_a_record_out():
    values = {
        ("N00002", "0115", 2020): [
            {"gender": g, "value": v} for g, v in (("T", 50.0), ("K", 51.0), ("M", 49.0))
        ]
    }
    with FakeKolada(
        SMALL_KPIS, SMALL_AREAS, SMALL_GROUPS, values, published=date(2024, 1, 1)
    ) as fake:
        fake.today = date(2024, 2, 1)
        fake.delete("N00002", "0115", 2020, gender="K")
        fake.today = date(2024, 3, 1)
        fake.revise(
            "N00002", "0115", 2020, [{"gender": "T", "value": 50.5}, {"gender": "M", "value": 49.5}]
        )
        path = "/data/kpi/N00002/municipality/0115/year/2020"
        now = get(fake, path).json()["values"][0]["values"]
        since_february = get(fake, path, from_date="2024-02-01").json()["values"][0]["values"]
        since_march = get(fake, path, from_date="2024-03-01").json()["values"][0]["values"]

    assert [(v["gender"], v["value"]) for v in now] == [("T", 50.5), ("M", 49.5)]
    assert [(v["gender"], v["value"], v["isdeleted"]) for v in since_february] == [
        ("T", 50.5, False),
        ("M", 49.5, False),
        ("K", None, True),
    ]
    assert [v["gender"] for v in since_march] == ["T", "M"]


def test_revise_leaving_out_a_gender_deletes_it():
    values = {
        ("N00002", "0115", 2020): [{"gender": "T", "value": 50.0}, {"gender": "K", "value": 51.0}]
    }
    with FakeKolada(
        SMALL_KPIS, SMALL_AREAS, SMALL_GROUPS, values, published=date(2024, 1, 1)
    ) as fake:
        fake.today = date(2024, 3, 1)
        fake.revise("N00002", "0115", 2020, [{"gender": "T", "value": 50.5}])
        now = get(fake, "/data/kpi/N00002/year/2020").json()["values"][0]["values"]
        since = get(fake, "/data/kpi/N00002/year/2020", from_date="2024-03-01").json()["values"][0][
            "values"
        ]

    assert [v["gender"] for v in now] == ["T"]
    assert [(v["gender"], v["value"], v["isdeleted"]) for v in since] == [
        ("T", 50.5, False),
        ("K", None, True),
    ]


def test_a_record_with_every_value_deleted_is_left_out_and_a_revise_brings_it_back(kolada_fake):
    kolada_fake.today = date(2024, 3, 1)
    kolada_fake.delete("N00001", "0115", 2021)
    gone = values_of(get(kolada_fake, "/data/kpi/N00001/municipality/0115").json())
    kolada_fake.today = date(2024, 4, 1)
    kolada_fake.revise("N00001", "0115", 2021, [{"value": 42.0}])
    back = values_of(get(kolada_fake, "/data/kpi/N00001/municipality/0115").json())
    since_april = values_of(
        get(kolada_fake, "/data/kpi/N00001/municipality/0115", from_date="2024-04-01").json()
    )

    assert list(gone) == [("0115", 2020)]
    assert back["0115", 2021][0]["value"] == 42.0
    assert since_april == {
        ("0115", 2021): [
            {"gender": "T", "count": 1, "status": "", "value": 42.0, "isdeleted": False}
        ]
    }


@pytest.mark.parametrize(
    "since", ["2024-13-01", "2024-02-30", "20240101", "2024-W01", "yesterday", ""]
)
def test_a_malformed_from_date_is_refused_with_422(kolada_fake, since):
    response = get(kolada_fake, "/data/kpi/N00001/year/2020", from_date=since)

    assert response.status_code == 422
    assert "from_date" in response.json()["detail"]


def test_the_cached_records_are_not_served_stale_after_revise_or_delete(kolada_fake):
    path = "/data/kpi/N00001/year/2020"
    before = values_of(get(kolada_fake, path).json())
    kolada_fake.revise("N00001", "0115", 2020, [{"value": 45.0}])
    revised = values_of(get(kolada_fake, path).json())
    kolada_fake.delete("N00001", "0117", 2020)
    deleted = values_of(get(kolada_fake, path).json())

    assert before["0115", 2020][0]["value"] == 40.0
    assert revised["0115", 2020][0]["value"] == 45.0
    assert ("0117", 2020) in revised
    assert ("0117", 2020) not in deleted


def test_the_cache_keeps_queries_with_and_without_from_date_apart(revised_fake):
    path = "/data/kpi/N00001/year/2020"
    full = get(revised_fake, path).json()
    changed = get(revised_fake, path, from_date="2024-03-01").json()
    full_again = get(revised_fake, path).json()

    assert full["count"] == full_again["count"] == 4
    assert changed["count"] == 2


def test_group_mean_reflects_revisions_and_counts_as_changed_with_its_members(revised_fake):
    # 2020 members: 0114 deleted, 0115 revised to 99, 0117 50; 2021: 31, 41 and null.
    path = "/data/kpi/N00001/municipality/G1/year/2020,2021"
    now = values_of(get(revised_fake, path).json())
    since = values_of(get(revised_fake, path, from_date="2024-03-01").json())

    assert now["G1", 2020][0]["value"] == pytest.approx((99.0 + 50.0) / 2)
    assert now["G1", 2020][0]["count"] == 2
    assert now["G1", 2021][0]["value"] == pytest.approx(36.0)
    assert list(since) == [("G1", 2020)]
    assert since["G1", 2020][0]["value"] == pytest.approx(74.5)


def test_group_mean_of_members_all_deleted_comes_flagged_only_with_from_date(kolada_fake):
    kolada_fake.today = date(2024, 3, 1)
    for member in ("0114", "0115", "0117"):
        kolada_fake.delete("N00001", member, 2020)
    path = "/data/kpi/N00001/municipality/G1/year/2020"

    assert get(kolada_fake, path).json()["values"] == []
    [record] = get(kolada_fake, path, from_date="2024-03-01").json()["values"]
    assert record["values"] == [
        {"gender": "T", "count": 0, "status": "", "value": None, "isdeleted": True}
    ]


def test_revise_works_with_a_value_function():
    def values(kpi, area, year):
        return [{"gender": "T", "count": 1, "status": "", "value": float(year), "isdeleted": False}]

    with FakeKolada(
        SMALL_KPIS,
        SMALL_AREAS,
        SMALL_GROUPS,
        values,
        data_years=[2020, 2021],
        published=date(2024, 1, 1),
    ) as fake:
        fake.today = date(2024, 5, 1)
        fake.revise("N00001", "0115", 2021, [{"value": 1.5}])
        now = values_of(get(fake, "/data/kpi/N00001/municipality/0115,G1").json())
        since = values_of(
            get(fake, "/data/kpi/N00001/municipality/0115,G1", from_date="2024-05-01").json()
        )

    assert [now["0115", year][0]["value"] for year in (2020, 2021)] == [2020.0, 1.5]
    assert now["G1", 2021][0]["value"] == pytest.approx((2021.0 + 1.5 + 2021.0) / 3)
    assert sorted(since) == [("0115", 2021), ("G1", 2021)]


def test_a_record_added_in_a_new_year_is_served_by_all_years_queries(kolada_fake):
    kolada_fake.revise("N00001", "0115", 2023, [{"value": 43.0}])

    found = values_of(get(kolada_fake, "/data/kpi/N00001/municipality/0115").json())

    assert sorted(found) == [("0115", 2020), ("0115", 2021), ("0115", 2023)]


def test_pages_of_a_from_date_query_link_with_from_date_and_the_log_records_it(revised_fake):
    first = get(
        revised_fake, "/data/kpi/N00001/year/2020,2022", from_date="2024-03-01", per_page=2
    ).json()
    second = requests.get(revised_fake.origin + first["next_url"], timeout=5).json()

    assert (
        first["next_url"]
        == "/v3/data/kpi/N00001/year/2020,2022?from_date=2024-03-01&per_page=2&page=2"
    )
    assert [(r["municipality"], r["period"]) for r in first["values"] + second["values"]] == [
        ("0114", 2020),
        ("0115", 2020),
        ("0115", 2022),
    ]
    assert [r.query.get("from_date") for r in revised_fake.data_requests()] == ["2024-03-01"] * 2


def test_revise_and_delete_refuse_what_the_fake_cannot_serve(kolada_fake):
    with pytest.raises(ValueError, match="N99999"):
        kolada_fake.revise("N99999", "0115", 2020, [{"value": 1.0}])
    with pytest.raises(ValueError, match="G1"):
        kolada_fake.revise("N00001", "G1", 2020, [{"value": 1.0}])
    with pytest.raises(KeyError, match="N00002/0115/2020"):
        kolada_fake.delete("N00002", "0115", 2020)
    with pytest.raises(KeyError, match="gender K"):
        kolada_fake.delete("N00001", "0115", 2020, gender="K")
