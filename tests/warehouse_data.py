"""Test data for the warehouse tests: small hand-made frames in the shapes of the contracts.

The mart case (`mart_batch`): seven kommuner, Riket, two regions and one comparison group,
with values chosen so ranks, colours and targets can be worked out by hand (see
tests/test_marts.py for the expected results).
"""

import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from transforms.goal_plan import GOAL_INDICATOR_SCHEMA
from transforms.kolada import KPI_SCHEMA
from transforms.schema import OBSERVATION_SCHEMA
from warehouse.load import RefreshBatch

KPI_COLUMNS = KPI_SCHEMA

AREAS = [
    ("0000", "Riket", "L"),
    ("0001", "Region Stockholm", "L"),
    ("0003", "Region Uppsala", "L"),
    ("0114", "Upplands Väsby", "K"),
    ("0115", "Vallentuna", "K"),
    ("0117", "Österåker", "K"),
    ("0120", "Värmdö", "K"),
    ("0123", "Järfälla", "K"),
    ("0125", "Ekerö", "K"),
    ("0127", "Botkyrka", "K"),
    ("0380", "Uppsala", "K"),
]


def observations(rows: Iterable[tuple[Any, ...]]) -> pl.DataFrame:
    """Observation frame from (series_id, municipality_id, year, value[, gender[, is_deleted]])."""
    records = []
    for row in rows:
        series_id, municipality_id, year, value, *rest = row
        gender = rest[0] if rest else "T"
        is_deleted = rest[1] if len(rest) > 1 else False
        records.append(
            {
                "source": "kolada",
                "series_id": series_id,
                "municipality_id": municipality_id,
                "year": year,
                "gender": gender,
                "value": value,
                "count": None,
                "status": None,
                "is_deleted": is_deleted,
                "table_id": None,
                "source_updated": None,
                "response_hash": "h-" + series_id,
            }
        )
    return pl.DataFrame(records, schema=OBSERVATION_SCHEMA)


def kpis(ids: Iterable[str]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "id": kpi,
                "title": f"Kolada-titel {kpi}",
                "is_divided_by_gender": True,
                "municipality_type": "K",
            }
            for kpi in ids
        ],
        schema=KPI_COLUMNS,
    )


def municipalities(areas: Iterable[tuple[str, str, str]] = AREAS) -> pl.DataFrame:
    return pl.DataFrame(
        [{"id": i, "title": t, "type": k} for i, t, k in areas],
        schema={"id": pl.String(), "title": pl.String(), "type": pl.String()},
    )


def groups(rows: Iterable[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"id": i, "title": t} for i, t in rows], schema={"id": pl.String(), "title": pl.String()}
    )


def group_members(rows: Iterable[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"group_id": g, "member_id": m, "member_title": f"namn {m}"} for g, m in rows],
        schema={"group_id": pl.String(), "member_id": pl.String(), "member_title": pl.String()},
    )


def plan_frames(
    plan_id: str,
    municipality_id: str,
    county_id: str | None,
    years: tuple[int, int],
    goals: dict[str, list[dict[str, Any]]],
    *,
    default_group_id: str | None = None,
    met_share: float = 0.667,
    partly_share: float = 0.333,
    min_coverage: float = 0.5,
) -> dict[str, pl.DataFrame]:
    """Frames for core.goal_plan, goal, goal_indicator (as goal_plan_frames makes them)."""
    goal_plan = pl.DataFrame(
        [
            {
                "plan_id": plan_id,
                "title": f"Plan {plan_id}",
                "municipality_id": municipality_id,
                "county_id": county_id,
                "first_year": years[0],
                "last_year": years[1],
                "default_group_id": default_group_id,
                "status_met_share": met_share,
                "status_partly_share": partly_share,
                "status_min_coverage": min_coverage,
                "source_file": f"goals/{plan_id}.yaml",
                "content_hash": "c" * 64,
                "definition": "{}",
                "loaded_at": datetime(2025, 1, 1, tzinfo=UTC),
            }
        ]
    )
    goal = pl.DataFrame(
        [
            {"plan_id": plan_id, "goal_id": goal_id, "position": n, "title": f"Mål {goal_id}"}
            for n, goal_id in enumerate(goals, start=1)
        ],
        schema={
            "plan_id": pl.String(),
            "goal_id": pl.String(),
            "position": pl.Int32(),
            "title": pl.String(),
        },
    )
    indicator_rows = [
        {
            "plan_id": plan_id,
            "goal_id": goal_id,
            "position": n,
            "source": "kolada",
            **indicator,
        }
        for goal_id, indicators in goals.items()
        for n, indicator in enumerate(indicators, start=1)
    ]
    goal_indicator = pl.DataFrame(indicator_rows, schema=GOAL_INDICATOR_SCHEMA)
    return {"goal_plan": goal_plan, "goal": goal, "goal_indicator": goal_indicator}


def mart_batch() -> RefreshBatch:
    """The hand-computed mart case: plan `p` for Vallentuna (0115) and region plan `r`."""
    n1_2024 = {"0114": 10.0, "0115": 20.0, "0117": 20.0, "0120": 5.0, "0123": 30.0, "0125": 1.0}
    rows: list[tuple[Any, ...]] = [("N1", area, 2024, value) for area, value in n1_2024.items()]
    rows += [
        ("N1", "0127", 2024, 100.0, "T", True),  # deleted: counts as no value
        ("N1", "0115", 2024, 999.0, "K"),  # women only: ignored
        ("N1", "0000", 2024, 15.0),
        ("N1", "0001", 2024, 12.0),
        ("N1", "0003", 2024, 8.0),
        ("N1", "0115", 2023, 18.0),
        ("N1", "0114", 2023, 11.0),
        ("N1", "0115", 2022, 17.0),
        ("N2", "0114", 2024, 4.0),
        ("N2", "0115", 2024, 6.0),
        ("N2", "0117", 2024, 5.0),
        ("N3", "0115", 2024, 7.0),
        ("N3", "0001", 2024, 7.0),
        ("N3", "0380", 2024, 9.0),  # Uppsala: compared with its own county, 0003
        ("N3", "0003", 2024, 10.0),
    ]
    plan = plan_frames(
        "p",
        "0115",
        "0001",
        (2024, 2025),
        {
            "a": [
                {"indicator_id": "a_high", "series_id": "N1", "direction": "higher"},
                {
                    "indicator_id": "a_low",
                    "series_id": "N2",
                    "direction": "lower",
                    "target_kind": "value",
                    "target_operator": "<=",
                    "target_value": 5.0,
                    "target_text": "högst 5",
                },
                {
                    "indicator_id": "a_none",
                    "series_id": "N3",
                    "title": "Egen titel",
                    "target_kind": "compare",
                    "target_operator": ">=",
                    "target_reference": "county",
                    "target_text": "minst som länet",
                },
            ],
            "b": [
                {
                    "indicator_id": "b_rank",
                    "series_id": "N1",
                    "direction": "higher",
                    "target_kind": "rank",
                    "target_value": 2.0,
                },
                {
                    "indicator_id": "b_colour",
                    "series_id": "N1",
                    "direction": "higher",
                    "target_kind": "colour",
                    "target_colour": "yellow",
                },
                {
                    "indicator_id": "b_riket",
                    "series_id": "N1",
                    "direction": "higher",
                    "target_kind": "compare",
                    "target_operator": ">=",
                    "target_reference": "riket",
                },
                {
                    "indicator_id": "b_peers",
                    "series_id": "N1",
                    "direction": "higher",
                    "target_kind": "compare",
                    "target_operator": ">=",
                    "target_reference": "peers",
                },
            ],
            "c": [
                {"indicator_id": "c_n4", "series_id": "N4", "direction": "higher"},
                {"indicator_id": "c_n5", "series_id": "N5", "direction": "higher"},
                {
                    "indicator_id": "c_from",
                    "series_id": "N1",
                    "direction": "higher",
                    "from_year": 2024,
                },
            ],
        },
        default_group_id="G1",
        met_share=0.6,
        partly_share=0.3,
    )
    region_plan = plan_frames(
        "r",
        "0001",
        None,
        (2024, 2024),
        {"r": [{"indicator_id": "r_n1", "series_id": "N1", "direction": "higher"}]},
    )
    # Plan f compares with a per-kommun "Liknande kommuner" family: Vallentuna's group
    # G10, Upplands Väsby's G11; Österåker has none of that family.
    family_plan = plan_frames(
        "f",
        "0115",
        "0001",
        (2024, 2024),
        {
            "f": [
                {
                    "indicator_id": "f_peers",
                    "series_id": "N1",
                    "direction": "higher",
                    "comparison_group_id": "G10",
                    "target_kind": "compare",
                    "target_operator": ">=",
                    "target_reference": "peers",
                }
            ]
        },
    )
    merged_plan = {
        name: pl.concat([plan[name], region_plan[name], family_plan[name]]) for name in plan
    }
    return RefreshBatch(
        run_id="run-mart",
        kpis=kpis(["N1", "N2", "N3", "N4", "N5"]),
        municipalities=municipalities(),
        groups=groups(
            [
                ("G1", "Liknande kommuner"),
                ("G10", "Liknande kommuner grundskola, Vallentuna, 2024"),
                ("G11", "Liknande kommuner grundskola, Upplands Väsby, 2024"),
            ]
        ),
        group_members=group_members(
            [
                ("G1", "0114"),
                ("G1", "0117"),
                ("G1", "0120"),
                ("G10", "0114"),
                ("G10", "0117"),
                ("G11", "0115"),
                ("G11", "0120"),
            ]
        ),
        plan=merged_plan,
        observations=observations(rows),
    )


@contextmanager
def held_by_another_process(path: Path) -> Iterator[int]:
    """A second process (its PID yielded) holding the DuckDB file open, as a CLI would."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys\n"
            f"con = duckdb.connect({str(path)!r})\n"
            "print('holding', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        yield holder.pid
    finally:
        holder.communicate("", timeout=30)
