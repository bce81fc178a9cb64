"""A Catalogue built from real Kolada records subset into tests/fixtures/catalogue/.

kpis.jsonl: the Vallentuna plan's KPIs plus neighbours (discontinued "(-YYYY)" ones,
region-only ones); municipalities.json: all 312 areas; groups.jsonl: the groups the plan
uses, every "Liknande kommuner …, Vallentuna" group, a few of Umeå's and some others.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from transforms.catalogue import Catalogue
from transforms.kolada import (
    kolada_groups_to_frames,
    kolada_kpis_to_frame,
    kolada_municipalities_to_frame,
)

FIXTURES = Path(__file__).parent / "fixtures" / "catalogue"


def _jsonl(name: str) -> list[dict[str, Any]]:
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@cache
def fixture_catalogue() -> Catalogue:
    """The fixture records shaped by transforms/kolada.py, as a refresh would."""
    municipalities = json.loads((FIXTURES / "municipalities.json").read_text(encoding="utf-8"))
    groups, group_members = kolada_groups_to_frames(_jsonl("groups.jsonl"))
    return Catalogue(
        kpis=kolada_kpis_to_frame(_jsonl("kpis.jsonl")),
        municipalities=kolada_municipalities_to_frame(municipalities),
        groups=groups,
        group_members=group_members,
    )
