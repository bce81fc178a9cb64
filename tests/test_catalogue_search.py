"""Searches plan writers use to find KPI ids and comparison groups (real catalogue subset)."""

import polars as pl

from tests.catalogue_fixture import fixture_catalogue
from transforms.catalogue import search_areas, search_kpis


def kpi_ids(text: str, limit: int = 50) -> list[str]:
    return search_kpis(fixture_catalogue(), text, limit=limit)["id"].to_list()


def area_ids(text: str) -> list[str]:
    return search_areas(fixture_catalogue(), text)["id"].to_list()


def test_kpi_search_returns_the_columns_a_plan_writer_needs():
    found = search_kpis(fixture_catalogue(), "meritvärde")

    assert found.columns == [
        "id",
        "title",
        "municipality_type",
        "is_divided_by_gender",
        "publication_date",
        "operating_area",
    ]
    assert found.schema["publication_date"] == pl.Date


def test_kpi_search_ignores_case_and_diacritics():
    assert "N15507" in kpi_ids("MERITVARDE hemkommun")


def test_kpi_search_requires_every_word_in_the_title():
    assert kpi_ids("trygg skolan") == ["N15613", "N15643"]


def test_kpi_search_finds_a_kpi_by_its_id_in_any_case():
    assert kpi_ids("n15507") == ["N15507"]


def test_kpi_search_lists_discontinued_kpis_last():
    found = kpi_ids("meritvärde")

    assert found[-1] == "U15443"  # "… (modellberäknat värde) (-2024)"
    assert found.index("N15507") < found.index("U15443")


def test_kpi_search_shows_kommun_region_or_both_in_words():
    found = search_kpis(fixture_catalogue(), "invånare", limit=100)
    types = dict(zip(found["id"], found["municipality_type"], strict=True))

    assert types["N01951"] == "kommun och region"
    assert types["N70550"] == "region"
    assert search_kpis(fixture_catalogue(), "N15507")["municipality_type"].to_list() == ["kommun"]


def test_kpi_search_stops_at_the_limit():
    assert len(kpi_ids("elever", limit=2)) == 2


def test_kpi_search_without_words_finds_nothing():
    assert kpi_ids("   ") == []


def test_area_search_by_kommun_name_lists_its_similar_municipality_groups():
    found = area_ids("Vallentuna")

    assert found[0] == "0115"
    assert {"G37571", "G36111", "G36403", "G176731"} <= set(found)


def test_area_search_leaves_out_groups_that_merely_contain_the_kommun():
    found = area_ids("Vallentuna")

    assert "G2328" not in found  # Alla kommuner: Vallentuna is a member, not in the title
    assert "G33612" not in found


def test_area_search_by_kommun_id_also_lists_its_similar_municipality_groups():
    assert {"0115", "G37571", "G36111"} <= set(area_ids("0115"))


def test_area_search_ignores_case_and_diacritics():
    assert area_ids("umea")[0] == "2480"


def test_area_search_tells_riket_regions_kommuner_and_groups_apart():
    found = search_areas(fixture_catalogue(), "stockholm")
    kinds = dict(zip(found["id"], found["kind"], strict=True))

    assert kinds == {"0001": "region", "0180": "kommun", "G33612": "grupp"}
    assert search_areas(fixture_catalogue(), "riket")["kind"].to_list() == ["riket"]


def test_area_search_counts_group_members_and_leaves_areas_without_a_count():
    found = search_areas(fixture_catalogue(), "stockholm")
    members = dict(zip(found["id"], found["members"], strict=True))

    assert members == {"0001": None, "0180": None, "G33612": 26}


def test_area_search_finds_a_group_by_its_id():
    assert area_ids("g37571") == ["G37571"]
