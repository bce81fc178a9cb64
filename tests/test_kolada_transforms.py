"""Kolada bodies and records → observation and catalogue frames, on recorded Kolada output.

The recorded data files are bare record lists (no page envelope, no `isdeleted`): the
tests wrap them in a v3 page envelope with `page`.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from transforms.kolada import (
    GROUP_MEMBER_SCHEMA,
    GROUP_SCHEMA,
    KPI_SCHEMA,
    MUNICIPALITY_SCHEMA,
    KoladaRecordError,
    kolada_groups_to_frames,
    kolada_kpis_to_frame,
    kolada_municipalities_to_frame,
    kolada_pages_to_observations,
)
from transforms.schema import OBSERVATION_KEY, OBSERVATION_SCHEMA

FIXTURES = Path(__file__).parent / "fixtures" / "kolada"


def load_json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def load_jsonl(name: str) -> list[dict[str, Any]]:
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def page(records: list[dict[str, Any]]) -> tuple[str, bytes]:
    """(content hash, body) of a v3 data page around recorded records, compact like the API."""
    envelope = {"values": records, "count": len(records), "next_url": None, "previous_url": None}
    body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(body).hexdigest(), body


def n00945_records() -> list[dict[str, Any]]:
    return load_json("data_N00945_v2_with_null_values_1996-2020.json")


def one_record(municipality: str, period: int) -> dict[str, Any]:
    return next(
        r for r in n00945_records() if r["municipality"] == municipality and r["period"] == period
    )


def test_every_value_becomes_one_observation_with_the_observation_schema() -> None:
    records = n00945_records()

    observations = kolada_pages_to_observations([page(records)])

    assert observations.schema == pl.Schema(OBSERVATION_SCHEMA)
    assert observations.height == sum(len(r["values"]) for r in records) == 75


def test_kolada_fields_map_onto_observation_columns() -> None:
    record = one_record("1280", 2020)

    row = kolada_pages_to_observations([page([record])]).row(0, named=True)

    assert row == {
        "source": "kolada",
        "series_id": "N00945",
        "municipality_id": "1280",
        "year": 2020,
        "gender": "T",
        "value": record["values"][0]["value"],
        "count": 1,
        "status": None,
        "is_deleted": False,
        "table_id": None,
        "source_updated": None,
        "response_hash": page([record])[0],
    }


def test_null_values_are_kept_as_null_rows() -> None:
    observations = kolada_pages_to_observations([page(n00945_records())])

    nulls = observations.filter(pl.col("value").is_null())
    assert sorted(set(nulls["year"].to_list())) == [1996, 1997]
    assert nulls.height == 6


def test_a_page_of_only_null_values_still_gives_float_values() -> None:
    early = [r for r in n00945_records() if r["period"] in (1996, 1997)]

    observations = kolada_pages_to_observations([page(early)])

    assert observations.schema["value"] == pl.Float64()
    assert observations.height == 6
    assert observations["value"].null_count() == 6


def test_integer_values_become_floats() -> None:
    record = copy.deepcopy(one_record("0180", 2010))
    record["values"][0]["value"] = 42

    observations = kolada_pages_to_observations([page([record])])

    assert observations["value"].to_list() == [42.0]


def test_empty_status_becomes_null_and_other_statuses_are_kept() -> None:
    empty = one_record("0180", 2010)
    missing = copy.deepcopy(one_record("1280", 2010))
    missing["values"][0]["status"] = "Missing"

    observations = kolada_pages_to_observations([page([empty, missing])])

    assert observations["status"].to_list() == [None, "Missing"]


def test_absent_isdeleted_flag_means_not_deleted() -> None:
    observations = kolada_pages_to_observations([page(n00945_records())])

    assert observations["is_deleted"].null_count() == 0
    assert not observations["is_deleted"].any()


def test_isdeleted_flag_is_kept_when_present() -> None:
    # A from_date answer marks a deleted value with isdeleted and a null value.
    deleted = copy.deepcopy(one_record("0180", 2010))
    deleted["values"][0].update(value=None, isdeleted=True)

    observations = kolada_pages_to_observations([page([deleted])])

    assert observations.select("value", "is_deleted").rows() == [(None, True)]


def test_gender_split_gives_one_observation_per_gender() -> None:
    # No recording has a gender-divided KPI: this is a recorded record with K and M
    # values added in the same shape as its T value.
    record = copy.deepcopy(one_record("0180", 2010))
    total = record["values"][0]
    record["values"] += [
        {**total, "gender": "K", "value": 10.5},
        {**total, "gender": "M", "value": 12.5},
    ]

    observations = kolada_pages_to_observations([page([record])])

    by_gender = dict(observations.select("gender", "value").iter_rows())
    assert by_gender == {"K": 10.5, "M": 12.5, "T": total["value"]}
    assert observations.select("series_id", "municipality_id", "year").n_unique() == 1


def test_a_record_with_an_empty_values_list_gives_no_rows() -> None:
    empty = {**one_record("0180", 2010), "values": []}

    observations = kolada_pages_to_observations([page([empty, one_record("1280", 2010)])])

    assert observations["municipality_id"].to_list() == ["1280"]


# Every recorded record (378 in four files, v2 and v3) has a values list; a missing
# figure comes as {"value": null} inside it. A record without the list is not Kolada's shape.
@pytest.mark.parametrize("values", ["absent", None])
def test_a_record_without_a_values_list_is_rejected_naming_page_and_record(
    values: str | None,
) -> None:
    broken = one_record("0180", 2010)
    if values == "absent":
        del broken["values"]
    else:
        broken["values"] = values
    content_hash, body = page([one_record("1280", 2010), broken])

    with pytest.raises(KoladaRecordError) as raised:
        kolada_pages_to_observations([(content_hash, body)])

    assert str(raised.value) == (
        f"Kolada data page {content_hash}: record 2 "
        '(kpi "N00945", municipality "0180", period 2010) has no values'
    )


@pytest.mark.parametrize("field", ["kpi", "municipality", "period"])
def test_a_record_without_its_key_is_rejected_not_loaded_with_nulls(field: str) -> None:
    broken = {k: v for k, v in one_record("0180", 2010).items() if k != field}

    with pytest.raises(KoladaRecordError, match=f"record 1 .* has no {field}$"):
        kolada_pages_to_observations([page([broken])])


def test_every_incomplete_record_is_counted_in_the_error() -> None:
    broken = {k: v for k, v in one_record("0180", 2010).items() if k != "municipality"}
    records = [one_record("1280", 2010), *[broken] * 3]

    with pytest.raises(
        KoladaRecordError, match=r"has no municipality \(and 2 more incomplete records\)$"
    ):
        kolada_pages_to_observations([page(records)])


@pytest.mark.parametrize("value", [None, {"count": 1, "status": "", "value": 1.0}])
def test_a_value_without_gender_is_rejected_naming_the_record(value: dict[str, Any] | None) -> None:
    broken = {**one_record("0180", 2010), "values": [value]}

    with pytest.raises(KoladaRecordError, match=r"record 1 \(kpi .*\) has a value without gender"):
        kolada_pages_to_observations([page([broken])])


def test_an_empty_page_gives_an_empty_frame_with_the_schema() -> None:
    observations = kolada_pages_to_observations([page([])])

    assert observations.is_empty()
    assert observations.schema == pl.Schema(OBSERVATION_SCHEMA)


def test_no_pages_give_an_empty_frame_with_the_schema() -> None:
    observations = kolada_pages_to_observations([])

    assert observations.is_empty()
    assert observations.schema == pl.Schema(OBSERVATION_SCHEMA)


def test_each_row_carries_the_hash_of_its_own_page() -> None:
    first, second = page([one_record("0180", 2010)]), page([one_record("1280", 2010)])

    observations = kolada_pages_to_observations(iter([first, second]))

    hashes = dict(observations.select("municipality_id", "response_hash").iter_rows())
    assert hashes == {"0180": first[0], "1280": second[0]}


def test_observations_are_sorted_by_key_whatever_the_page_order() -> None:
    records = load_json("data_N03702_N03703_0180_1280_1480.json")
    pages = [page(records[i::3]) for i in range(3)]

    forwards = kolada_pages_to_observations(pages)
    backwards = kolada_pages_to_observations(reversed(pages))

    assert forwards.drop("response_hash").equals(backwards.drop("response_hash"))
    assert forwards.equals(forwards.sort(OBSERVATION_KEY))
    assert forwards.height == len(records)


def test_rows_with_the_same_key_come_in_page_order() -> None:
    first = one_record("0180", 2010)
    second = copy.deepcopy(first)
    second["values"][0]["value"] = -1.0
    pages = [page([first]), page([second])]

    forwards = kolada_pages_to_observations(pages)
    backwards = kolada_pages_to_observations(reversed(pages))

    assert forwards["response_hash"].to_list() == [pages[0][0], pages[1][0]]
    assert backwards["response_hash"].to_list() == [pages[1][0], pages[0][0]]


def test_a_body_that_is_not_json_is_rejected_naming_its_hash() -> None:
    with pytest.raises(KoladaRecordError, match="abc123"):
        kolada_pages_to_observations([("abc123", b"<html>502 Bad Gateway</html>")])


def test_a_bare_record_list_is_rejected_as_not_a_page() -> None:
    body = json.dumps(n00945_records()).encode()

    with pytest.raises(KoladaRecordError, match="abc123 is not a JSON object"):
        kolada_pages_to_observations([("abc123", body)])


def kpis_v3() -> list[dict[str, Any]]:
    return load_jsonl("kpi_catalogue_2026-03_first50.jsonl")


def test_kpi_catalogue_has_the_architecture_columns_and_dtypes() -> None:
    kpis = kolada_kpis_to_frame(kpis_v3())

    assert kpis.schema == pl.Schema(KPI_SCHEMA)
    assert kpis.height == 50


def test_kpi_publication_dates_become_dates() -> None:
    kpis = kolada_kpis_to_frame(kpis_v3())

    n00003 = kpis.filter(pl.col("id") == "N00003").row(0, named=True)
    assert n00003["prel_publication_date"] == dt.date(2026, 4, 1)
    assert n00003["publication_date"] == dt.date(2026, 8, 28)


def test_kpi_null_publication_dates_stay_null() -> None:
    without_prel = {r["id"] for r in kpis_v3() if r["prel_publication_date"] is None}

    kpis = kolada_kpis_to_frame(kpis_v3())

    assert without_prel
    assert set(kpis.filter(pl.col("prel_publication_date").is_null())["id"]) == without_prel


def test_kpi_publ_period_string_becomes_an_integer_year() -> None:
    kpis = kolada_kpis_to_frame(kpis_v3())

    assert kpis.filter(pl.col("id") == "N00003")["publ_period"].to_list() == [2025]


def test_kpi_records_with_01_flags_and_integer_publ_period_are_accepted() -> None:
    records = [entry["kpi"] for entry in load_json("kpi_records_int_flags_variant.json")]

    kpis = kolada_kpis_to_frame(records)

    assert kpis.schema == pl.Schema(KPI_SCHEMA)
    assert kpis.select("id", "has_ou_data", "publ_period").rows() == [
        ("N00514", False, 2025),
        ("N18705", False, None),
        ("U60015", True, 2026),
    ]


def test_v2_kpi_records_give_auspices_as_auspice() -> None:
    records = load_jsonl("kpi_catalogue_2024-04_v2fields_first50.jsonl")

    kpis = kolada_kpis_to_frame(records)

    assert kpis.schema == pl.Schema(KPI_SCHEMA)
    auspices = {r["id"]: r["auspices"] for r in records}
    assert dict(kpis.select("id", "auspice").iter_rows()) == auspices
    assert kpis["is_divided_by_gender"].dtype == pl.Boolean()


def test_kpi_flag_that_is_neither_boolean_nor_01_is_rejected_naming_the_kpi() -> None:
    record = {**kpis_v3()[0], "is_divided_by_gender": "ja"}

    with pytest.raises(KoladaRecordError, match=r"N00003.*is_divided_by_gender"):
        kolada_kpis_to_frame([record])


def test_kpis_are_sorted_by_id() -> None:
    kpis = kolada_kpis_to_frame(list(reversed(kpis_v3())))

    assert kpis["id"].to_list() == sorted(r["id"] for r in kpis_v3())


def test_municipalities_frame_has_id_title_type_sorted_by_id() -> None:
    records = load_json("municipalities_2026-03.json")

    areas = kolada_municipalities_to_frame(list(reversed(records)))

    assert areas.schema == pl.Schema(MUNICIPALITY_SCHEMA)
    assert areas["id"].to_list() == sorted(r["id"] for r in records)
    assert areas.filter(pl.col("id") == "0115").row(0) == ("0115", "Vallentuna", "K")
    assert areas["type"].value_counts().sort("type").rows() == [("K", 290), ("L", 22)]


def test_groups_give_one_member_row_per_member() -> None:
    records = load_jsonl("municipality_groups_2026-03_first20.jsonl")

    groups, members = kolada_groups_to_frames(records)

    assert groups.schema == pl.Schema(GROUP_SCHEMA)
    assert members.schema == pl.Schema(GROUP_MEMBER_SCHEMA)
    assert groups.height == 20
    assert members.height == sum(len(r["members"]) for r in records)
    assert members.filter(pl.col("group_id") == "G114418").rows() == [
        ("G114418", "0682", "Nässjö"),
        ("G114418", "1499", "Falköping"),
        ("G114418", "1885", "Lindesberg"),
        ("G114418", "2081", "Borlänge"),
    ]


def test_group_members_are_sorted_by_group_then_member() -> None:
    records = load_jsonl("municipality_groups_2026-03_first20.jsonl")
    shuffled = [{**r, "members": list(reversed(r["members"]))} for r in reversed(records)]

    groups, members = kolada_groups_to_frames(shuffled)

    assert groups["id"].to_list() == sorted(r["id"] for r in records)
    assert members.equals(members.sort("group_id", "member_id"))
