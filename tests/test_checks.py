"""check_observations: every kind of violation is named, with its rows, in one error.

The observations come from a recorded Kolada answer (Stockholm, Göteborg, Malmö, N00945,
1996–2020) wrapped in a v3 page envelope and run through the Kolada transform, which
sorts them: rows 0–24 are 0180 for 1996–2020, 25–49 are 1280, 50–74 are 1480.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from transforms.checks import ObservationCheckError, check_observations
from transforms.kolada import kolada_pages_to_observations
from transforms.schema import OBSERVATION_SCHEMA

FIXTURES = Path(__file__).parent / "fixtures" / "kolada"
AREAS = {"0180", "1280", "1480"}
YEARS = (1996, 2020)


def observations() -> pl.DataFrame:
    fixture = FIXTURES / "data_N00945_v2_with_null_values_1996-2020.json"
    records = json.loads(fixture.read_text(encoding="utf-8"))
    envelope = {"values": records, "count": len(records), "next_url": None, "previous_url": None}
    body = json.dumps(envelope).encode()
    return kolada_pages_to_observations([(hashlib.sha256(body).hexdigest(), body)])


def violation_message(frame: pl.DataFrame, **known: Any) -> str:
    with pytest.raises(ObservationCheckError) as raised:
        check_observations(frame, **known)
    return str(raised.value)


def set_cell(frame: pl.DataFrame, row: int, column: str, value: object) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.int_range(pl.len()) == row)
        .then(pl.lit(value, OBSERVATION_SCHEMA[column]))
        .otherwise(pl.col(column))
        .alias(column)
    )


def test_recorded_observations_pass_every_check() -> None:
    check_observations(
        observations(), known_series={"N00945", "N00946"}, known_areas=AREAS, years=YEARS
    )


def test_an_empty_frame_with_the_schema_passes() -> None:
    check_observations(
        pl.DataFrame(schema=OBSERVATION_SCHEMA), known_series=set(), known_areas=set(), years=YEARS
    )


def test_check_error_is_a_value_error() -> None:
    assert issubclass(ObservationCheckError, ValueError)


def test_missing_column_is_named() -> None:
    message = violation_message(observations().drop("count"))

    assert "missing columns: count" in message


def test_unexpected_column_is_named() -> None:
    message = violation_message(observations().with_columns(unit=pl.lit("procent")))

    assert "unexpected columns: unit" in message


def test_wrong_dtype_is_named_with_the_expected_one() -> None:
    message = violation_message(observations().with_columns(pl.col("year").cast(pl.Int64)))

    assert "year is Int64, expected Int32" in message


def test_columns_in_another_order_are_reported() -> None:
    frame = observations()

    message = violation_message(frame.select(reversed(frame.columns)))

    assert "columns out of order" in message


def test_duplicate_keys_name_every_row_with_that_key() -> None:
    frame = observations()
    doubled = pl.concat([frame, frame.slice(5, 1)])

    message = violation_message(doubled)

    assert "duplicate keys (series_id, municipality_id, year, gender): 2 row(s)" in message
    assert "row=5, series_id='N00945', municipality_id='0180', year=2001" in message
    assert f"row={frame.height}, series_id='N00945', municipality_id='0180', year=2001" in message


def test_gender_other_than_t_k_m_is_named_with_its_row() -> None:
    message = violation_message(set_cell(observations(), 3, "gender", "X"))

    assert "gender not T, K, M: 1 row(s) with gender 'X'" in message
    assert "row=3, series_id='N00945', municipality_id='0180', year=1999, gender='X'" in message


def test_null_key_part_is_named_with_its_row() -> None:
    message = violation_message(set_cell(observations(), 4, "municipality_id", None))

    assert "null key parts (series_id, municipality_id, year, gender): 1 row(s)" in message
    assert "row=4, series_id='N00945', municipality_id=None" in message


def test_year_outside_the_range_is_named_with_its_row() -> None:
    message = violation_message(observations(), years=(1998, 2020))

    assert "year outside 1998–2020: 6 row(s) with year 1996, 1997" in message
    assert "row=0, series_id='N00945', municipality_id='0180', year=1996" in message


def test_unknown_series_is_named_with_its_rows() -> None:
    message = violation_message(observations(), known_series={"N00946"})

    assert "series_id not among the known series: 75 row(s) with series_id 'N00945'" in message
    assert "row=0, series_id='N00945'" in message


def test_unknown_area_is_named_with_its_rows() -> None:
    message = violation_message(observations(), known_areas={"0180", "1280"})

    assert "municipality_id not among the known areas: 25 row(s) with municipality_id '1480'" in (
        message
    )
    assert "row=50, series_id='N00945', municipality_id='1480', year=1996" in message


def test_at_most_ten_rows_are_shown_and_the_total_is_given() -> None:
    message = violation_message(observations(), known_series=set())

    assert "75 row(s) with series_id 'N00945', the first 10:" in message
    assert message.count("    row=") == 10
    assert "row=9," in message and "row=10," not in message


def test_all_violations_are_reported_in_one_error() -> None:
    frame = set_cell(set_cell(observations(), 3, "gender", "X"), 4, "year", None)

    with pytest.raises(ObservationCheckError) as raised:
        check_observations(frame.drop("table_id"), known_areas={"0180"}, years=YEARS)

    assert len(raised.value.violations) == 4
    message = str(raised.value)
    for kind in ("missing columns", "null key parts", "gender not", "known areas"):
        assert kind in message


def test_null_key_part_is_not_reported_again_by_the_value_checks() -> None:
    frame = set_cell(observations(), 4, "year", None)

    with pytest.raises(ObservationCheckError) as raised:
        check_observations(frame, years=YEARS)

    assert len(raised.value.violations) == 1
    assert "null key parts" in raised.value.violations[0]
