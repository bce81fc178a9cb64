"""Stitched segments and plan formulas over observations."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from transforms.derived import pct_change, per_1000, stitch_segments
from transforms.schema import OBSERVATION_SCHEMA

OLD = datetime(2025, 2, 21, 7, tzinfo=UTC)
NEW = datetime(2026, 2, 24, 7, tzinfo=UTC)


def obs(
    rows: list[tuple[str, int, float | None]],
    *,
    series_id: str = "scb:population",
    table_id: str = "TAB638",
    updated: datetime = OLD,
    gender: str = "T",
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source": "scb",
            "series_id": series_id,
            "municipality_id": [r[0] for r in rows],
            "year": [r[1] for r in rows],
            "gender": gender,
            "value": [r[2] for r in rows],
            "count": None,
            "status": None,
            "is_deleted": False,
            "table_id": table_id,
            "source_updated": updated,
            "response_hash": "h",
        },
        schema=OBSERVATION_SCHEMA,
    )


def test_stitching_cuts_each_segment_to_its_years_and_the_later_segment_wins():
    old = obs([("0115", 2023, 33000.0), ("0115", 2024, 34000.0), ("0115", 2025, 1.0)])
    new = obs([("0115", 2024, 99.0), ("0115", 2025, 35361.0)], table_id="TAB5557", updated=NEW)

    stitched = stitch_segments([((None, 2025), old), ((2024, None), new)])

    assert stitched.select("year", "value", "table_id").rows() == [
        (2023, 33000.0, "TAB638"),
        (2024, 99.0, "TAB5557"),
        (2025, 35361.0, "TAB5557"),
    ]
    assert stitched.schema == pl.Schema(OBSERVATION_SCHEMA)


def test_stitching_drops_years_outside_every_segment():
    old = obs([("0115", 2023, 1.0), ("0115", 2024, 2.0), ("0115", 2025, 3.0)])
    new = obs([("0115", 2025, 4.0), ("0115", 2026, 5.0)], table_id="TAB5557")

    stitched = stitch_segments([((None, 2024), old), ((2025, 2025), new)])

    assert stitched.select("year", "value").rows() == [(2023, 1.0), (2024, 2.0), (2025, 4.0)]


def test_pct_change_per_area_against_the_previous_year():
    population = pl.concat(
        [
            obs([("0115", 2023, 200.0), ("0115", 2024, 210.0), ("0115", 2025, 189.0)]),
            obs([("0180", 2024, 1000.0), ("0180", 2025, 1010.0)], table_id="TAB5557"),
        ]
    )

    change = pct_change(population, "scb:population_change_pct")

    assert change.select("municipality_id", "year", "value").rows() == [
        ("0115", 2023, None),
        ("0115", 2024, pytest.approx(5.0)),
        ("0115", 2025, pytest.approx(-10.0)),
        ("0180", 2024, None),
        ("0180", 2025, pytest.approx(1.0)),
    ]
    assert set(change.get_column("series_id")) == {"scb:population_change_pct"}


def test_pct_change_is_null_after_a_gap_a_null_or_a_zero():
    population = obs(
        [
            ("0330", 2001, 0.0),
            ("0330", 2002, 15000.0),
            ("0330", 2003, None),
            ("0330", 2004, 15500.0),
            ("0330", 2006, 16000.0),
        ]
    )

    change = pct_change(population, "scb:population_change_pct")

    assert change.get_column("value").to_list() == [None, None, None, None, None]


def test_pct_change_keeps_genders_apart():
    population = pl.concat(
        [
            obs([("0115", 2023, 100.0), ("0115", 2024, 110.0)], gender="K"),
            obs([("0115", 2023, 200.0), ("0115", 2024, 180.0)], gender="M"),
        ]
    )

    change = pct_change(population, "x").filter(pl.col("year") == 2024)

    assert change.select("gender", "value").rows() == [
        ("K", pytest.approx(10.0)),
        ("M", pytest.approx(-10.0)),
    ]


def test_derived_rows_name_their_source_tables_and_carry_no_status():
    population = pl.concat(
        [
            obs([("0115", 2024, 100.0)], table_id="TAB638"),
            obs([("0115", 2025, 110.0)], table_id="TAB5557", updated=NEW),
        ]
    )

    row = pct_change(population, "scb:population_change_pct").row(1, named=True)

    assert row["source"] == "derived"
    assert row["table_id"] == "TAB5557,TAB638"
    assert row["status"] is None
    assert row["count"] is None
    assert row["is_deleted"] is False
    assert row["source_updated"] == NEW


def test_per_1000_divides_where_both_series_have_the_area_and_year():
    migration = obs(
        [("0115", 2024, 350.0), ("0115", 2025, 100.0), ("0180", 2024, 5.0)],
        series_id="scb:net_migration",
        table_id="TAB1212",
    )
    population = obs([("0115", 2024, 35000.0), ("0115", 2025, 0.0)])

    rate = per_1000(migration, population, "scb:net_migration_per_1000")

    assert rate.select("municipality_id", "year", "value", "table_id").rows() == [
        ("0115", 2024, pytest.approx(10.0), "TAB1212,TAB638"),
        ("0115", 2025, None, "TAB1212,TAB638"),
    ]
    assert rate.schema == pl.Schema(OBSERVATION_SCHEMA)
