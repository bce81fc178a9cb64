"""A municipality's own measurements (CSV or .xlsx beside its plan) → observations.

Areas are resolved against the real Kolada municipality list; the values are test data.
"""

from __future__ import annotations

import io
import json
from functools import cache
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest

from transforms.kolada import kolada_municipalities_to_frame
from transforms.own import (
    OwnFileError,
    own_file_to_frame,
    own_file_to_observations,
    resolve_areas,
)
from transforms.schema import OBSERVATION_KEY, OBSERVATION_SCHEMA

ROOT = Path(__file__).resolve().parent.parent
MUNICIPALITIES = ROOT / "tests" / "fixtures" / "catalogue" / "municipalities.json"
EXAMPLE = ROOT / "goals" / "data" / "sjukfranvaro-exempel.csv"
CSV_NAME = "goals/data/sjukfranvaro.csv"
XLSX_NAME = "goals/data/sjukfranvaro.xlsx"


@cache
def municipalities() -> pl.DataFrame:
    """All 312 Kolada areas, shaped as a refresh shapes them."""
    records = json.loads(MUNICIPALITIES.read_text(encoding="utf-8"))
    return kolada_municipalities_to_frame(records)


def csv_bytes(*lines: str, bom: bool = False) -> bytes:
    return ("\ufeff" if bom else "").encode() + ("\r\n".join(lines) + "\r\n").encode("utf-8")


def xlsx_bytes(*rows: list[Any], first_sheet_title: str = "Sjukfrånvaro") -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = first_sheet_title
    for row in rows:
        sheet.append(row)
    other = workbook.create_sheet("Anteckningar")
    other.append(["area", "year", "value"])
    other.append(["Täby", 2024, 1.0])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def observations(body: bytes, file_name: str = CSV_NAME) -> pl.DataFrame:
    return own_file_to_observations(
        body,
        file_name=file_name,
        series_id="own:sjukfranvaro",
        municipalities=municipalities(),
        response_hash="sha256-of-file",
    )


def values(frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    return frame.select("municipality_id", "year", "gender", "value").rows()


def error(body: bytes, file_name: str = CSV_NAME) -> str:
    with pytest.raises(OwnFileError) as raised:
        observations(body, file_name)
    return str(raised.value)


def test_swedish_csv_with_bom_semicolons_decimal_commas_and_names():
    body = csv_bytes(
        "område;år;värde;kön",
        "Vallentuna;2024;6,4;T",
        "Upplands Väsby;2024;7,25;T",
        "Österåker;2023;5,9;T",
        bom=True,
    )

    assert values(observations(body)) == [
        ("0114", 2024, "T", 7.25),
        ("0115", 2024, "T", 6.4),
        ("0117", 2023, "T", 5.9),
    ]


def test_plain_csv_with_commas_decimal_points_english_headers_and_codes():
    body = csv_bytes("area,year,value,gender", "0115,2024,6.4,K", "0160,2024,5.1,K")

    assert values(observations(body)) == [("0115", 2024, "K", 6.4), ("0160", 2024, "K", 5.1)]


def test_headers_ignore_case_and_surrounding_spaces():
    body = csv_bytes(" Område ;ÅR; Värde", "Vallentuna;2024;6,4")

    assert values(observations(body)) == [("0115", 2024, "T", 6.4)]


def test_columns_may_come_in_any_order():
    body = csv_bytes("värde;kön;område;år", "6,4;K;Vallentuna;2024")

    assert values(observations(body)) == [("0115", 2024, "K", 6.4)]


def test_thousands_separated_by_space_or_no_break_space():
    body = csv_bytes(
        "område;år;värde",
        "Vallentuna;2022;1 234,5",
        "Vallentuna;2023;1\u00a0234,5",
        "Vallentuna;2024;-12 345 678",
    )

    assert observations(body).get_column("value").to_list() == [1234.5, 1234.5, -12345678.0]


def test_empty_value_cell_is_kept_as_a_missing_observation():
    body = csv_bytes("område;år;värde", "Vallentuna;2023;", "Vallentuna;2024;6,4")

    assert values(observations(body)) == [("0115", 2023, "T", None), ("0115", 2024, "T", 6.4)]


def test_gender_defaults_to_total_and_accepts_swedish_words_in_any_case():
    body = csv_bytes(
        "område;år;värde;kön",
        "Vallentuna;2024;6,4;",
        "Täby;2024;5,1;Totalt",
        "Österåker;2024;7,0;kvinnor",
        "Sigtuna;2024;7,8;MÄN",
        "Danderyd;2024;4,4;k",
    )

    assert observations(body).select("municipality_id", "gender").rows() == [
        ("0115", "T"),
        ("0117", "K"),
        ("0160", "T"),
        ("0162", "K"),
        ("0191", "M"),
    ]


def test_region_and_riket_are_matched_by_koladas_titles_ignoring_case_and_diacritics():
    body = csv_bytes(
        "område;år;värde",
        "Riket;2024;6,9",
        "region stockholm;2024;6,6",
        "Region Ostergotland;2024;7,1",
    )

    assert observations(body).get_column("municipality_id").to_list() == ["0000", "0001", "0005"]


def test_names_are_matched_without_diacritics():
    body = csv_bytes("område;år;värde", "osteraker;2024;7,0", "UPPLANDS VASBY;2024;7,3")

    assert observations(body).get_column("municipality_id").to_list() == ["0114", "0117"]


def test_exact_spelling_tells_habo_from_håbo():
    body = csv_bytes("område;år;värde", "Habo;2024;5,0", "håbo;2024;6,0")

    assert values(observations(body)) == [("0305", 2024, "T", 6.0), ("0643", 2024, "T", 5.0)]


def test_xlsx_first_sheet_with_number_cells_and_a_code_excel_made_a_number():
    body = xlsx_bytes(
        ["Område", "År", "Värde", "Kön"],
        [115, 2024, 6.4, "T"],
        ["0160", 2024, 5, "T"],
        ["Österåker", 2024.0, 7.25, None],
    )

    assert values(observations(body, XLSX_NAME)) == [
        ("0115", 2024, "T", 6.4),
        ("0117", 2024, "T", 7.25),
        ("0160", 2024, "T", 5.0),
    ]


def test_xlsx_text_cells_with_decimal_comma_and_year_as_text():
    body = xlsx_bytes(["area", "year", "value"], ["Vallentuna", "2024", "6,4"])

    assert values(observations(body, XLSX_NAME)) == [("0115", 2024, "T", 6.4)]


def test_frame_keeps_areas_as_written_and_file_row_numbers_counting_blank_rows():
    body = xlsx_bytes(["område", "år", "värde"], [115, 2023, 6.1], [None], ["Täby", 2024, None])

    frame = own_file_to_frame(body, file_name=XLSX_NAME)

    assert frame.schema == pl.Schema(
        {"area": pl.String, "year": pl.Int32, "gender": pl.String, "value": pl.Float64}
        | {"row": pl.Int32}
    )
    assert frame.rows() == [("115", 2023, "T", 6.1, 2), ("Täby", 2024, "T", None, 4)]


def test_resolve_areas_adds_the_four_digit_code_beside_the_area_as_written():
    frame = own_file_to_frame(
        csv_bytes("area;year;value", "115;2024;1", "Täby;2024;2"), file_name=CSV_NAME
    )

    resolved = resolve_areas(frame, municipalities(), file_name=CSV_NAME)

    assert resolved.select("area", "municipality_id", "row").rows() == [
        ("115", "0115", 2),
        ("Täby", "0160", 3),
    ]


def test_bad_number_names_file_row_column_and_value():
    body = csv_bytes("område;år;värde", "Vallentuna;2023;6,1", "Täby;2023;5,2", "Sigtuna;2023;12,x")

    assert error(body) == (
        "goals/data/sjukfranvaro.csv: row 4, column 'värde': '12,x' is not a number"
    )


def test_thousands_grouped_wrongly_is_a_bad_number():
    body = csv_bytes("område;år;värde", "Vallentuna;2023;12 5")

    assert (
        error(body) == "goals/data/sjukfranvaro.csv: row 2, column 'värde': '12 5' is not a number"
    )


@pytest.mark.parametrize("year", ["24", "1969", "2101", "20x4", "2024,5", ""])
def test_bad_year_names_file_row_column_and_value(year: str):
    body = csv_bytes("Område;År;Värde", f"Vallentuna;{year};6,4")

    assert error(body) == (
        f"goals/data/sjukfranvaro.csv: row 2, column 'År': {year!r} "
        "is not a year (four digits, 1970–2100)"
    )


def test_bad_year_in_xlsx_names_the_number_excel_holds():
    body = xlsx_bytes(["area", "year", "value"], ["Vallentuna", 2024.5, 6.4])

    assert error(body, XLSX_NAME) == (
        "goals/data/sjukfranvaro.xlsx: row 2, column 'year': '2024.5' "
        "is not a year (four digits, 1970–2100)"
    )


def test_bad_gender_names_file_row_column_and_value():
    body = csv_bytes("område;år;värde;kön", "Vallentuna;2024;6,4;T", "Vallentuna;2024;6,9;kvinna")

    assert error(body) == (
        "goals/data/sjukfranvaro.csv: row 3, column 'kön': 'kvinna' "
        "is not a gender (T, K, M or totalt, kvinnor, män)"
    )


def test_unknown_area_name_names_file_row_column_and_value_and_suggests_close_names():
    body = csv_bytes("område;år;värde", "Valentuna;2024;6,4")

    assert error(body) == (
        "goals/data/sjukfranvaro.csv: row 2, column 'område': 'Valentuna' "
        "is not a kommun, region or Riket; did you mean Vallentuna (0115) or Sollentuna (0163)?"
    )


def test_unknown_region_name_suggests_koladas_region_title():
    body = csv_bytes("område;år;värde", "Västerbotten;2024;6,4")

    assert "did you mean Region Västerbotten (0024)" in error(body)


def test_unknown_area_code_names_file_row_column_and_value():
    body = csv_bytes("område;år;värde", "0116;2024;6,4")

    assert error(body) == (
        "goals/data/sjukfranvaro.csv: row 2, column 'område': '0116' is not a Kolada area code"
    )


def test_name_matching_two_areas_without_diacritics_is_ambiguous():
    body = csv_bytes("område;år;värde", "Hàbo;2024;6,4")

    assert error(body) == (
        "goals/data/sjukfranvaro.csv: row 2, column 'område': 'Hàbo' could be any of "
        "Håbo (0305), Habo (0643); write it as spelt or use the code"
    )


def test_empty_area_names_file_row_and_column():
    body = csv_bytes("område;år;värde", ";2024;6,4")

    assert error(body) == (
        "goals/data/sjukfranvaro.csv: row 2, column 'område': '' is empty; every row needs an area"
    )


def test_duplicate_row_names_both_rows():
    body = csv_bytes(
        "område;år;värde",
        "Vallentuna;2023;6,1",
        "Vallentuna;2024;6,4",
        "Täby;2024;5,1",
        "Vallentuna;2024;6,5",
    )

    assert error(body) == (
        "goals/data/sjukfranvaro.csv: row 5, column 'område': 'Vallentuna', year 2024, "
        "gender T is already in row 3"
    )


def test_same_area_written_as_name_and_as_code_is_a_duplicate():
    body = csv_bytes("område;år;värde", "Vallentuna;2024;6,4", "0115;2024;6,5")

    assert error(body) == (
        "goals/data/sjukfranvaro.csv: row 3, column 'område': '0115', year 2024, "
        "gender T is already in row 2 (as 'Vallentuna')"
    )


def test_unknown_columns_are_named_with_the_allowed_ones():
    body = csv_bytes("område;år;värde;Kommentar;källa", "Vallentuna;2024;6,4;;")

    assert error(body) == (
        "goals/data/sjukfranvaro.csv: row 1: unknown columns 'Kommentar', 'källa'; "
        "the columns are area (område), year (år), value (värde), gender (kön, optional)"
    )


def test_missing_column_is_named():
    body = csv_bytes("område;år", "Vallentuna;2024")

    assert error(body) == (
        "goals/data/sjukfranvaro.csv: row 1: missing column value (found 'område', 'år'); "
        "the columns are area (område), year (år), value (värde), gender (kön, optional)"
    )


def test_trailing_empty_columns_are_ignored_but_a_nameless_column_with_data_is_not():
    assert values(observations(csv_bytes("område;år;värde;", "Täby;2024;5,1;"))) == [
        ("0160", 2024, "T", 5.1)
    ]
    assert error(csv_bytes("område;år;värde;", "Täby;2024;5,1;", "Täby;2023;5,3;x")) == (
        "goals/data/sjukfranvaro.csv: row 3, column 4 (no name in row 1): 'x' is in a column "
        "without a header; the columns are area (område), year (år), value (värde), "
        "gender (kön, optional)"
    )


def test_unquoted_decimal_comma_in_a_comma_separated_file_is_explained():
    body = csv_bytes("area,year,value", "Vallentuna,2024,6,4")

    assert error(body) == (
        "goals/data/sjukfranvaro.csv: row 2: 4 cells but the header has 3; '4' has no column "
        '(in a comma-separated file a decimal comma needs quotes: "12,5")'
    )


def test_csv_not_in_utf8_names_the_row_and_byte():
    body = "område;år;värde\nTäby;2024;5,1\n".encode("cp1252")

    assert error(body) == (
        'goals/data/sjukfranvaro.csv: row 1: byte 0xE5 is not UTF-8; save the file as "CSV UTF-8"'
    )


@pytest.mark.parametrize(
    ("file_name", "shown"),
    [("goals/data/sjukfranvaro.xls", "'.xls'"), ("goals/data/sjukfranvaro", "'(no suffix)'")],
)
def test_unsupported_suffix_is_named(file_name: str, shown: str):
    body = csv_bytes("område;år;värde", "Täby;2024;5,1")

    assert error(body, file_name) == (
        f"{file_name}: unsupported file type {shown}; use a .csv or an .xlsx file"
    )


def test_file_that_is_not_a_workbook_is_named():
    assert error(csv_bytes("område;år;värde"), XLSX_NAME).startswith(
        "goals/data/sjukfranvaro.xlsx: not a readable .xlsx workbook"
    )


def test_header_without_rows_is_an_error():
    assert error(csv_bytes("område;år;värde")) == (
        "goals/data/sjukfranvaro.csv: no data rows below the header"
    )


def test_observations_have_exactly_the_shared_schema_sorted_by_key():
    body = csv_bytes(
        "område;år;värde;kön",
        "Täby;2024;5,1;T",
        "Vallentuna;2024;6,4;K",
        "Vallentuna;2023;;T",
        bom=True,
    )

    obs = observations(body)

    assert obs.schema == pl.Schema(OBSERVATION_SCHEMA)
    assert obs.equals(obs.sort(OBSERVATION_KEY))
    assert obs.row(0, named=True) == {
        "source": "own",
        "series_id": "own:sjukfranvaro",
        "municipality_id": "0115",
        "year": 2023,
        "gender": "T",
        "value": None,
        "count": None,
        "status": None,
        "is_deleted": False,
        "table_id": "goals/data/sjukfranvaro.csv",
        "source_updated": None,
        "response_hash": "sha256-of-file",
    }


def test_example_file_beside_the_plans_reads():
    obs = observations(EXAMPLE.read_bytes(), "data/sjukfranvaro-exempel.csv")

    assert obs.get_column("municipality_id").unique().sort().to_list() == [
        *("0114", "0115", "0117", "0160", "0188", "0191")
    ]
    assert obs.get_column("year").unique().sort().to_list() == [2022, 2023, 2024]
    assert obs.get_column("value").is_between(4, 9).all()
    assert set(obs.get_column("gender")) == {"T"}


def test_the_shipped_example_plan_reads_its_example_file():
    from flows.preflight import read_plan
    from flows.settings import goals_dir
    from sources.own.planning import plan_files

    plan = read_plan(goals_dir() / "exempel-egna-matt.yaml").plan
    (own,) = plan_files(plan, goals_dir())

    observations = own_file_to_observations(
        own.path.read_bytes(),
        file_name=own.written,
        series_id=own.series_id,
        municipalities=municipalities(),
        response_hash="0" * 64,
    )
    assert observations["municipality_id"].n_unique() == 6
    assert set(observations["source"]) == {"own"}
