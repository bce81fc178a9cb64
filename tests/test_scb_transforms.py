"""SCB JSON-stat 2 answers → frames → observations, on real recorded answers."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from transforms.scb import (
    NOT_EXISTING,
    jsonstat2_to_frame,
    jsonstat2_updated,
    kolada_gender,
    kolada_region_code,
    measuring_type,
    scb_frame_to_observations,
)
from transforms.schema import OBSERVATION_SCHEMA

FIXTURES = Path(__file__).parent / "fixtures" / "scb"
TAB6471 = FIXTURES / "v2_TAB6471_data_jsonstat2__pxwebpy.json"
TAB638 = FIXTURES / "v2_TAB638_Knivsta_Uppsala_1998-2005_full__atlas290.json"
TAB2538 = FIXTURES / "v2_TAB2538_data_fardigstallda_lgh_hustyp_1968-2025__atlas290_trimmed.json"
TAB1212 = FIXTURES / "v2_TAB1212_data_flyttningsoverskott_kon_1997-2024__atlas290_trimmed.json"
TAB5557_POPULATION = FIXTURES / "v2_TAB5557_population2025_CKM__atlas290_trimmed.json"
TAB5557_AGES = FIXTURES / "v2_TAB5557_Stockholm_age_totals_CKM__atlas290_trimmed.json"


def observations(path: Path, frame: pl.DataFrame | None = None, **kwargs) -> pl.DataFrame:
    body = path.read_bytes()
    defaults = {
        "series_id": "scb:test",
        "table_id": json.loads(body)["extension"]["px"]["tableid"],
        "updated": jsonstat2_updated(body),
        "response_hash": "sha256-of-body",
    }
    return scb_frame_to_observations(
        jsonstat2_to_frame(body) if frame is None else frame, **{**defaults, **kwargs}
    )


def test_tab6471_verbatim_answer_becomes_one_row_per_cell_in_row_major_order():
    frame = jsonstat2_to_frame(TAB6471.read_bytes())

    assert frame.height == 21 * 11 * 3 * 1 * 4
    assert frame.columns == [
        *("Region", "Region_label", "Alder", "Alder_label", "Kon", "Kon_label"),
        *("ContentsCode", "ContentsCode_label", "Tid", "Tid_label", "value", "status"),
    ]
    assert frame.schema["value"] == pl.Float64
    first = frame.row(0, named=True)
    assert (first["Region"], first["Alder"], first["Kon"], first["Tid"]) == (
        "01",
        "0-9",
        "TotSa",
        "2026M01",
    )
    assert first["Region_label"] == "Stockholms län"
    assert first["value"] == 245284.0
    assert frame.get_column("Tid").head(4).to_list() == ["2026M01", "2026M02", "2026M03", "2026M04"]
    assert frame.get_column("value").head(8).to_list() == [
        245284.0, 247245.0, 249358.0, 251635.0, 125373.0, 126402.0, 127502.0, 128675.0,
    ]  # fmt: skip
    assert frame.get_column("Alder").unique(maintain_order=True).to_list()[-1] == "100+10"
    assert frame.get_column("status").null_count() == frame.height


def test_tab6471_metadata_of_the_answer_is_readable():
    body = TAB6471.read_bytes()

    assert jsonstat2_updated(body) == datetime(2026, 6, 8, 6, 0, tzinfo=UTC)
    assert measuring_type(body, "000007SF") == "Stock"


def test_monthly_periods_are_refused_as_years():
    frame = jsonstat2_to_frame(TAB6471.read_bytes()).filter(
        (pl.col("Alder") == "0-9") & (pl.col("Kon") == "TotSa")
    )

    with pytest.raises(ValueError, match="not years"):
        observations(TAB6471, frame.drop("Alder", "Alder_label"), measuring_type="Stock")


def test_category_order_follows_index_values_not_key_order():
    data = json.loads(TAB638.read_text("utf-8"))
    shuffled = json.loads(TAB638.read_text("utf-8"))
    rng = random.Random(7)
    for dimension in shuffled["dimension"].values():
        items = list(dimension["category"]["index"].items())
        rng.shuffle(items)
        dimension["category"]["index"] = dict(items)

    assert jsonstat2_to_frame(shuffled).equals(jsonstat2_to_frame(data))


def test_stock_zeros_before_an_area_existed_become_null_not_existing():
    frame = jsonstat2_to_frame(TAB638.read_bytes()).filter(pl.col("Civilstand") == "OG")

    obs = observations(TAB638, frame, measuring_type="Stock")

    knivsta_men = obs.filter((pl.col("municipality_id") == "0330") & (pl.col("gender") == "M"))
    assert knivsta_men.get_column("value").to_list()[:5] == [None, None, None, None, 3464.0]
    assert knivsta_men.get_column("status").to_list()[:5] == [NOT_EXISTING] * 4 + [None]
    uppsala = obs.filter(pl.col("municipality_id") == "0380")
    assert uppsala.height == 16
    assert uppsala.get_column("value").null_count() == 0
    assert uppsala.get_column("status").null_count() == 16


def test_observations_have_exactly_the_observation_schema():
    frame = jsonstat2_to_frame(TAB638.read_bytes()).filter(pl.col("Civilstand") == "G")

    obs = observations(TAB638, frame, measuring_type="Stock")

    assert obs.schema == pl.Schema(OBSERVATION_SCHEMA)
    row = obs.row(0, named=True)
    assert row["source"] == "scb"
    assert row["table_id"] == "TAB638"
    assert row["count"] is None
    assert row["is_deleted"] is False
    assert row["source_updated"] == datetime(2025, 2, 21, 7, 0, tzinfo=UTC)
    assert row["response_hash"] == "sha256-of-body"


def test_a_dimension_with_several_values_left_is_refused_by_name():
    with pytest.raises(ValueError, match=r"Civilstand.*G, OG, SK, ÄNKL"):
        observations(TAB638, measuring_type="Stock")


def test_flow_keeps_real_zeros_and_status_symbols():
    frame = jsonstat2_to_frame(TAB2538.read_bytes()).filter(pl.col("Hustyp") == "FLERBO")

    obs = observations(TAB2538, frame, measuring_type="Flow", sex_var=None)

    missing = obs.filter(pl.col("status") == "..")
    assert missing.height > 0
    assert missing.get_column("value").null_count() == missing.height
    zeros = obs.filter(pl.col("value") == 0)
    assert zeros.height > 0
    assert zeros.get_column("status").null_count() == zeros.height
    assert set(obs.get_column("gender").unique()) == {"T"}
    assert obs.filter(pl.col("status") == NOT_EXISTING).height == 0


def test_flow_sexes_map_to_kolada_genders():
    obs = observations(TAB1212, measuring_type="Flow")

    assert sorted(obs.get_column("gender").unique()) == ["K", "M"]
    vasby_men_1997 = obs.filter(
        (pl.col("municipality_id") == "0114") & (pl.col("gender") == "M") & (pl.col("year") == 1997)
    )
    assert vasby_men_1997.get_column("value").to_list() == [-166.0]


def test_2025_population_uses_scbs_published_ckm_totals():
    obs = observations(TAB5557_POPULATION, measuring_type="Stock")

    assert obs.select("municipality_id", "year", "gender", "value").rows() == [
        ("0114", 2025, "T", 50495.0),
        ("0115", 2025, "T", 35361.0),
        ("0180", 2025, "T", 999239.0),
    ]


def test_ckm_parts_do_not_add_up_so_the_published_total_is_taken():
    frame = jsonstat2_to_frame(TAB5557_AGES.read_bytes())
    parts = frame.filter(pl.col("Alder").is_in(["20", "21", "22", "23", "24"]))["value"].sum()
    published = frame.filter(pl.col("Alder") == "20-24")["value"].item()
    assert parts != published

    obs = observations(
        TAB5557_AGES, frame.filter(pl.col("Alder") == "TotSA"), measuring_type="Stock"
    )

    assert obs.get_column("value").to_list() == [999239.0]


@pytest.mark.parametrize(
    ("scb", "kolada"),
    [("00", "0000"), ("01", "0001"), ("25", "0025"), ("0115", "0115"), ("2584", "2584")],
)
def test_region_codes_become_koladas_four_digits(scb, kolada):
    assert kolada_region_code(scb) == kolada


@pytest.mark.parametrize("storstad", ["0010", "0020", "0030"])
def test_storstadsomraden_are_dropped(storstad):
    assert kolada_region_code(storstad) is None


def test_unknown_region_codes_are_refused():
    with pytest.raises(ValueError, match="SE11"):
        kolada_region_code("SE11")


@pytest.mark.parametrize(
    ("scb", "gender"), [("1", "M"), ("2", "K"), ("1+2", "T"), ("TotSa", "T"), ("tot", "T")]
)
def test_sex_codes_become_kolada_genders(scb, gender):
    assert kolada_gender(scb) == gender


def test_storstad_rows_disappear_from_observations():
    frame = pl.DataFrame(
        {
            "Region": ["00", "0010", "01", "0115"],
            "Tid": ["2024"] * 4,
            "value": [10.0, 5.0, 3.0, 1.0],
            "status": [None] * 4,
        },
        schema_overrides={"status": pl.String},
    )

    obs = scb_frame_to_observations(
        frame,
        series_id="scb:x",
        table_id="TAB1212",
        updated="2025-02-21T07:00:00Z",
        sex_var=None,
        measuring_type="Flow",
        response_hash="h",
    )

    assert obs.get_column("municipality_id").to_list() == ["0000", "0001", "0115"]
