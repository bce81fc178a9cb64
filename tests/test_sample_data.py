"""The fakes' generated SAMPLE values are plausible for what they measure (issue #8).

They are made-up values, never statistics: these tests check only that they look like
what each KPI or SCB table measures, that Riket and regions are made from their
kommuner, that both fakes agree on population, and that every answer says it is
generated.
"""

from __future__ import annotations

import itertools
import random
import statistics
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from fakes.kolada_server import FakeKolada
from fakes.sample_data import (
    SAMPLE_DATA_HEADER,
    SampleValues,
    classify_kpi,
    kommun_codes,
    load_kpi_catalogue,
    load_municipalities,
    population,
    sample_kolada,
)
from fakes.scb_server import FakeScbServer
from tests.kolada_fixtures import small_kolada
from transforms.scb import jsonstat_codes

YEARS = (2005, 2015, 2024)


@pytest.fixture(scope="module")
def catalogue() -> list[dict[str, Any]]:
    return load_kpi_catalogue()


@pytest.fixture(scope="module")
def values(catalogue: list[dict[str, Any]]) -> SampleValues:
    return SampleValues(catalogue)


@pytest.fixture(scope="module")
def kommuner() -> list[str]:
    return [area["id"] for area in load_municipalities() if area["type"] == "K"]


@pytest.fixture(scope="module")
def scb() -> Iterator[FakeScbServer]:
    with FakeScbServer(max_calls=1000, window=1.0) as server:
        yield server


def numbers(values: SampleValues, kpi: str, area: str, year: int) -> dict[str, float | None]:
    """A record's values by gender: {"T": …, "K": …, "M": …}."""
    return {value["gender"]: value["value"] for value in values(kpi, area, year) or []}


def total(values: SampleValues, kpi: str, area: str, year: int) -> float | None:
    return numbers(values, kpi, area, year).get("T")


def scb_cells(server: FakeScbServer, table: str, selection: dict[str, Any]) -> dict[tuple, Any]:
    """The answer's cells by their codes, in the order of the answer's variables."""
    body = {
        "selection": [
            {"variableCode": variable, "valueCodes": codes if isinstance(codes, list) else [codes]}
            for variable, codes in selection.items()
        ]
    }
    answer = requests.post(f"{server.base_url}/tables/{table}/data", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    codes = [jsonstat_codes(data["dimension"][variable]) for variable in data["id"]]
    return dict(zip(itertools.product(*codes), data["value"], strict=True))


# -- the classifier -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("Invånare totalt, antal", "population"),
        ("Invånare 65+, andel (%)", "share"),
        ("Sysselsättningsgrad 20-64 år, andel (%)", "share"),
        ("Soliditet inkl pensionsåtag. kommunkoncern, (%)", "share"),
        ("Företagsklimat Insikt - Totalt, Index, ny definition", "index"),
        ("Personalkostnader, kr/inv", "level"),
        ("Anmälda våldsbrott, antal/100 000 inv", "level"),
        ("Nystartade företag, antal/1000 inv, 16-64 år", "level"),
        ("Nystartade arbetsställen, antal", "count"),
        ("Elever i åk 9, meritvärde, hemkommun, genomsnitt (17 ämnen)", "range"),
        ("Medelålder, år", "range"),
        (
            "Befolkningsförändring i antal invånare sedan föregående år, procent",
            "population_change",
        ),
        ("Nettokostnadsavvikelse totalt (exkl. LSS), andel (%)", "signed"),
        ("Flyttnetto, antal", "signed_count"),
        ("Kommunen har tillgång till antikvarisk kompetens (Ja=1, Nej=0)", "categorical"),
        ("Något helt okänt", "level"),
    ],
)
def test_the_classifier_reads_the_kind_of_measure_from_the_title(title: str, kind: str):
    assert classify_kpi({"id": "X", "title": title}).kind == kind


def test_levels_are_of_the_kind_a_unit_names_not_random_powers_of_ten():
    kronor = classify_kpi({"title": "Personalkostnader, kr/inv"})
    per_100_000 = classify_kpi({"title": "Anmälda brott totalt, antal/100 000 inv"})
    unknown = classify_kpi({"title": "Något helt okänt"})

    assert 100 <= kronor.centre[0] < kronor.centre[1] <= 100_000
    assert 1 <= per_100_000.centre[0] < per_100_000.centre[1] <= 10_000
    assert 1 <= unknown.centre[0] < unknown.centre[1] <= 10_000


# -- Kolada sample values -------------------------------------------------------------


def test_every_share_and_index_kpi_in_a_sample_stays_within_0_and_100(
    catalogue: list[dict[str, Any]], values: SampleValues
):
    bounded = [kpi["id"] for kpi in catalogue if classify_kpi(kpi).kind in ("share", "index")]
    sample = [*random.Random(8).sample(bounded, 300), "N02267", "N15428", "N00610"]
    areas = [area["id"] for area in load_municipalities()]

    found = [
        value
        for kpi, area, year in itertools.product(sample, areas, YEARS)
        for value in numbers(values, kpi, area, year).values()
        if value is not None
    ]

    assert len(bounded) > 2_000
    assert len(found) > 0.9 * len(sample) * len(areas) * len(YEARS)
    assert all(0 <= value <= 100 for value in found)
    # Mostly between 5 and 95, not piled up at the bounds.
    assert sum(5 <= value <= 95 for value in found) > 0.95 * len(found)


def test_kronor_per_inhabitant_are_positive_and_of_a_plausible_size(
    catalogue: list[dict[str, Any]], values: SampleValues, kommuner: list[str]
):
    kpis = [
        kpi["id"]
        for kpi in catalogue
        if kpi["title"].endswith(", kr/inv") and classify_kpi(kpi).kind == "level"
    ][:50]

    found = [total(values, kpi, area, 2024) for kpi in kpis for area in kommuner]

    levels = [value for value in found if value is not None]
    assert len(kpis) == 50
    assert all(50 <= value <= 500_000 for value in levels)


def test_population_of_stockholm_and_of_a_small_kommun_are_plausible(
    values: SampleValues, kommuner: list[str]
):
    stockholm = [total(values, "N01951", "0180", year) for year in range(2015, 2026)]
    bjurholm = total(values, "N01951", "2403", 2024)
    sizes = [total(values, "N01951", kommun, 2024) or 0 for kommun in kommuner]

    assert all(800_000 <= (people or 0) <= 1_200_000 for people in stockholm)
    assert stockholm == sorted(stockholm)  # a small yearly trend, up
    assert bjurholm is not None and 1_500 <= bjurholm <= 30_000
    assert min(sizes) >= 2_000
    assert max(sizes) <= 1_200_000
    assert 10_000 <= statistics.median(sizes) <= 25_000
    assert 500_000 <= (total(values, "N01951", "1480", 2024) or 0) <= 700_000  # Göteborg
    assert 9_500_000 <= (total(values, "N01951", "0000", 2024) or 0) <= 11_500_000


def test_the_population_is_the_shared_population_function_and_never_null(
    values: SampleValues, kommuner: list[str]
):
    for kommun, year in itertools.product(kommuner, (2000, 2012, 2025)):
        people = numbers(values, "N01951", kommun, year)
        assert people["T"] == population(kommun, year)
        assert people["K"] is not None and people["M"] is not None
        assert people["K"] + people["M"] == people["T"]


@pytest.mark.parametrize("kpi", ["N01951", "N01887", "N01700", "N45704"])
def test_a_regions_and_riket_counts_are_the_sums_of_their_kommuner(
    values: SampleValues, kommuner: list[str], kpi: str
):
    stockholms_lan = [kommun for kommun in kommuner if kommun.startswith("01")]
    year = 2022

    def summed(areas: list[str], gender: str) -> float:
        found = (numbers(values, kpi, area, year).get(gender) for area in areas)
        return sum(value for value in found if value is not None)

    assert len(stockholms_lan) == 26
    assert len(kommuner) == 290
    for gender in numbers(values, kpi, "0001", year):
        assert numbers(values, kpi, "0001", year)[gender] == pytest.approx(
            summed(stockholms_lan, gender), abs=0.15
        )
        assert numbers(values, kpi, "0000", year)[gender] == pytest.approx(
            summed(kommuner, gender), abs=0.15
        )
    # Region Gotland is its one kommun.
    assert total(values, kpi, "0009", year) == total(values, kpi, "0980", year)


@pytest.mark.parametrize("kpi", ["N02267", "N00003", "N15507", "N07403"])
def test_riket_and_a_regions_shares_and_rates_are_population_weighted_means_of_kommuner(
    values: SampleValues, kommuner: list[str], kpi: str
):
    year = 2023

    def mean(areas: list[str]) -> float:
        found = [(total(values, kpi, area, year), population(area, year)) for area in areas]
        pairs = [(value, people) for value, people in found if value is not None]
        return sum(value * people for value, people in pairs) / sum(p for _, p in pairs)

    riket = total(values, kpi, "0000", year)
    skane = total(values, kpi, "0012", year)
    in_skane = [kommun for kommun in kommuner if kommun.startswith("12")]
    found = [total(values, kpi, kommun, year) for kommun in kommuner]
    kommun_values = [value for value in found if value is not None]

    assert riket is not None and skane is not None
    assert riket == pytest.approx(mean(kommuner), abs=0.6)  # within rounding
    assert skane == pytest.approx(mean(in_skane), abs=0.6)
    assert min(kommun_values) <= riket <= max(kommun_values)


def test_gender_values_of_shares_stay_within_0_and_100_and_around_the_total(
    values: SampleValues, kommuner: list[str]
):
    for kommun, year in itertools.product(kommuner, YEARS):
        split = numbers(values, "N02267", kommun, year)
        if split["T"] is None:
            continue
        low, high = sorted((split["K"], split["M"]))
        assert 0 <= low <= split["T"] <= high <= 100


def test_values_are_deterministic_and_about_one_in_30_is_null(
    catalogue: list[dict[str, Any]], kommuner: list[str]
):
    first, second = SampleValues(catalogue), SampleValues(catalogue)
    keys = list(itertools.product(["N00003", "N02267", "N15507", "N01700"], kommuner, YEARS))

    generated = [first(*key) for key in keys]

    assert generated == [second(*key) for key in keys]
    assert generated == [first(*key) for key in keys]
    nulls = sum(record[0]["value"] is None for record in generated if record)
    assert 0.01 * len(keys) < nulls < 0.06 * len(keys)


# -- SCB sample cells ---------------------------------------------------------------------


def test_scb_population_is_the_kolada_fakes_population(scb: FakeScbServer, values: SampleValues):
    kommuner = ["0127", "0115", "1480", "2403", "2584"]
    cells = scb_cells(
        scb,
        "TAB638",
        {"Region": kommuner, "ContentsCode": "BE0101N1", "Tid": ["2010", "2020", "2024"]},
    )
    in_2025 = scb_cells(
        scb,
        "TAB5557",
        {"Region": ["0127", "2584"], "Civilstand": "SC", "Alder": "TotSA", "Kon": "TotSa",
         "ContentsCode": "000007ME", "Tid": "2025"},
    )  # fmt: skip

    for (kommun, _, year), people in cells.items():
        assert people == total(values, "N01951", kommun, int(year)) == population(kommun, int(year))
    for (kommun, *_), people in in_2025.items():
        assert people == total(values, "N01951", kommun, 2025)


def test_scb_counties_and_riket_are_sums_of_kommuner_and_means_are_weighted_means(
    scb: FakeScbServer,
):
    population_cells = scb_cells(
        scb, "TAB638", {"Region": "*", "ContentsCode": "BE0101N1", "Tid": "2022"}
    )
    mean_age = scb_cells(scb, "TAB637", {"Region": "*", "ContentsCode": "BE0101G9", "Tid": "2022"})
    people = {region: value for (region, *_), value in population_cells.items()}
    ages = {region: value for (region, *_), value in mean_age.items()}
    kommuner = kommun_codes()

    assert people["01"] == sum(people[k] for k in kommuner if k.startswith("01"))
    assert people["00"] == sum(people[k] for k in kommuner)
    weighted = sum(ages[k] * people[k] for k in kommuner) / sum(people[k] for k in kommuner)
    assert ages["00"] == pytest.approx(weighted, abs=0.06)


def test_scb_cells_are_plausible_for_what_the_tables_measure(scb: FakeScbServer):
    kommuner = list(kommun_codes())
    recorded = {"0114", "0115", "0117", "0120", "0180", "0330", "0380"}
    generated = [kommun for kommun in kommuner if kommun not in recorded]

    def by_kommun(table: str, selection: dict[str, Any]) -> dict[str, float]:
        cells = scb_cells(scb, table, {"Region": generated, **selection})
        return {codes[0]: value for codes, value in cells.items() if value is not None}

    income = by_kommun("TAB3554", {"Alder": "20-64", "ContentsCode": "HE0110J8", "Tid": "2024"})
    mean_age = by_kommun("TAB637", {"ContentsCode": "BE0101G9", "Tid": "2024"})
    employed = by_kommun("TAB3200", {"Alder": "20-64", "ContentsCode": "000002NS", "Tid": "2024"})
    moved = by_kommun("TAB1212", {"ContentsCode": "BE0101AZ", "Tid": "2024"})
    built = by_kommun("TAB2538", {"ContentsCode": "BO0101A5", "Tid": "2024"})
    people = {kommun: population(kommun, 2024) for kommun in generated}

    assert all(250 <= value <= 400 for value in income.values())
    assert all(38 <= value <= 48 for value in mean_age.values())
    assert all(60 <= value <= 90 for value in employed.values())
    net_per_1000 = [1000 * value / people[kommun] for kommun, value in moved.items()]
    assert all(-30 <= value <= 40 for value in net_per_1000)
    assert min(net_per_1000) < 0 < max(net_per_1000)
    assert all(0 <= 1000 * value / people[kommun] <= 20 for kommun, value in built.items())
    assert min(len(found) for found in (income, mean_age, employed, moved, built)) > 250


def test_scb_flows_add_up_and_recorded_cells_stay_as_recorded(scb: FakeScbServer):
    flows = scb_cells(
        scb, "TAB1212", {"Region": ["0127", "2584"], "ContentsCode": "*", "Tid": "2019"}
    )
    knivsta_men_2002 = scb_cells(
        scb,
        "TAB638",
        {"Region": "0330", "Civilstand": "OG", "Alder": "tot", "Kon": "1",
         "ContentsCode": "BE0101N1", "Tid": "2002"},
    )  # fmt: skip

    for kommun in ("0127", "2584"):
        flow = {content: value for (region, content, _), value in flows.items() if region == kommun}
        assert flow["BE0101AZ"] == flow["BE0101AU"] - flow["BE0101AV"]
        assert flow["BE0101AZ"] == flow["BE0101A1"] + flow["BE0101A4"]
    assert list(knivsta_men_2002.values()) == [3464]


# -- the sample-data header -------------------------------------------------------------


def test_both_fakes_send_the_sample_data_header_on_every_answer(scb: FakeScbServer):
    with small_kolada() as kolada, FakeKolada(**sample_kolada()) as sample:
        kolada_answers = [
            requests.get(f"{kolada.base_url}/kpi", timeout=5),
            requests.get(f"{kolada.base_url}/data/kpi/N00001/year/2020", timeout=5),
            requests.get(f"{kolada.base_url}/nothing", timeout=5),
            requests.get(f"{sample.base_url}/data/kpi/N01951/year/2024", timeout=30),
        ]
    scb_answers = [
        requests.get(f"{scb.base_url}/config", timeout=5),
        requests.get(f"{scb.base_url}/tables/TAB638/metadata", timeout=5),
        requests.post(
            f"{scb.base_url}/tables/TAB638/data",
            json={
                "selection": [
                    {"variableCode": "Region", "valueCodes": ["0115"]},
                    {"variableCode": "ContentsCode", "valueCodes": ["BE0101N1"]},
                    {"variableCode": "Tid", "valueCodes": ["2020"]},
                ]
            },
            timeout=5,
        ),
        requests.get(f"{scb.base_url}/tables/TAB0/metadata", timeout=5),
    ]

    assert [answer.status_code for answer in kolada_answers] == [200, 200, 404, 200]
    assert [answer.status_code for answer in scb_answers] == [200, 200, 200, 404]
    for answer in kolada_answers + scb_answers:
        assert answer.headers[SAMPLE_DATA_HEADER] == "generated"


def test_a_fake_told_its_values_are_not_sample_data_sends_no_header():
    with small_kolada(sample_data=False) as kolada, FakeScbServer(sample_data=False) as scb:
        answers = [
            requests.get(f"{kolada.base_url}/kpi", timeout=5),
            requests.get(f"{scb.base_url}/config", timeout=5),
        ]

    assert [answer.status_code for answer in answers] == [200, 200]
    assert all(SAMPLE_DATA_HEADER not in answer.headers for answer in answers)
