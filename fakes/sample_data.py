"""Bundled Kolada metadata and generated SAMPLE values for the fake server.

The KPI catalogue, the 312 areas and the area groups in ``fakes/data/`` are real
Kolada v3 metadata (March 2026, recorded by the rKolada package). The VALUES are
NOT real statistics: ``SampleValues`` makes them up from a seeded hash of
KPI, area and year, so demos and benchmarks look plausible and repeat exactly.
Never present them as Kolada figures.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypedDict

DATA_DIR = Path(__file__).parent / "data"
KPI_CATALOGUE_FILE = DATA_DIR / "kpi_catalogue_2026-03.jsonl.gz"
MUNICIPALITIES_FILE = DATA_DIR / "municipalities_2026-03.json.gz"
MUNICIPALITY_GROUPS_FILE = DATA_DIR / "municipality_groups_2026-03.jsonl.gz"

# About one value in 30 is null, as years without data are in Kolada.
_NULL_SHARE = 0.03


def load_kpi_catalogue() -> list[dict[str, Any]]:
    """The real Kolada v3 KPI catalogue (6,099 KPIs, March 2026)."""
    return _read_jsonl(KPI_CATALOGUE_FILE)


def load_municipalities() -> list[dict[str, Any]]:
    """The real 312 Kolada areas: 290 kommuner (K), 21 regions and Riket ``0000`` (L)."""
    with gzip.open(MUNICIPALITIES_FILE, "rt", encoding="utf-8") as file:
        areas: list[dict[str, Any]] = json.load(file)
    return areas


def load_municipality_groups() -> list[dict[str, Any]]:
    """The real 3,630 Kolada area groups with their members (March 2026)."""
    return _read_jsonl(MUNICIPALITY_GROUPS_FILE)


class SampleValues:
    """Generated SAMPLE values, not statistics: deterministic in (KPI, area, year).

    Every area gets a record for every catalogued KPI and year up to the last one
    published (the year before the KPI's ``publ_period``, the year its next publication
    covers): ``T``, plus ``K`` and ``M`` when the KPI is divided by gender; a few values
    are null.
    """

    def __init__(self, catalogue: Iterable[dict[str, Any]]):
        catalogue = list(catalogue)
        self._by_gender = {kpi["id"]: bool(kpi.get("is_divided_by_gender")) for kpi in catalogue}
        self._last_year = {
            kpi["id"]: int(kpi["publ_period"]) - 1
            for kpi in catalogue
            if str(kpi.get("publ_period") or "").isdigit()
        }
        self._kpi_seed: dict[str, tuple[int, float, float]] = {}
        self._area_seed: dict[str, tuple[int, float]] = {}

    def __call__(self, kpi: str, municipality: str, year: int) -> list[dict[str, Any]] | None:
        divided = self._by_gender.get(kpi)
        if divided is None or year > self._last_year.get(kpi, year):
            return None
        kpi_offset, scale, trend = self._kpi_seed.get(kpi) or self._seed_kpi(kpi)
        area_offset, factor = self._area_seed.get(municipality) or self._seed_area(municipality)
        # A table lookup instead of a hash per value keeps the fake server fast.
        is_null, noise, spread = _DRAWS[(kpi_offset + area_offset + year * 7919) % _DRAW_COUNT]
        level = scale * factor * (1 + trend * (year - 2000)) * noise
        total = None if is_null else round(level, 2)
        if not divided:
            return [_value("T", total)]
        if total is None:
            return [_value("T", None), _value("K", None), _value("M", None)]
        return [
            _value("T", total),
            _value("K", round(total * (1 + spread), 2)),
            _value("M", round(total * (1 - spread), 2)),
        ]

    def _seed_kpi(self, kpi: str) -> tuple[int, float, float]:
        bits = _bits(f"kpi|{kpi}")
        scale = 10 ** (1 + 3 * (bits & 0xFFFF) / 0xFFFF)
        trend = 0.04 * ((bits >> 16) & 0xFFFF) / 0xFFFF - 0.015
        self._kpi_seed[kpi] = seed = (bits >> 32, scale, trend)
        return seed

    def _seed_area(self, municipality: str) -> tuple[int, float]:
        bits = _bits(f"area|{municipality}")
        factor = 0.6 + 0.8 * (bits & 0xFFFF) / 0xFFFF
        self._area_seed[municipality] = seed = (bits >> 32, factor)
        return seed


class SampleKolada(TypedDict):
    """Keyword arguments for ``FakeKolada``: real metadata, generated SAMPLE values."""

    catalogue: list[dict[str, Any]]
    municipalities: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    values: SampleValues


def sample_kolada() -> SampleKolada:
    """The bundled real metadata and generated SAMPLE values: ``FakeKolada(**sample_kolada())``."""
    catalogue = load_kpi_catalogue()
    return SampleKolada(
        catalogue=catalogue,
        municipalities=load_municipalities(),
        groups=load_municipality_groups(),
        values=SampleValues(catalogue),
    )


def _value(gender: str, value: float | None) -> dict[str, Any]:
    return {"gender": gender, "count": 1, "status": "", "value": value, "isdeleted": False}


def _bits(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _draws(count: int, seed: int) -> list[tuple[bool, float, float]]:
    """Pre-drawn (null?, noise factor, gender spread) triples for ``SampleValues``."""
    rng = random.Random(seed)
    return [
        (rng.random() < _NULL_SHARE, 0.95 + 0.1 * rng.random(), 0.05 + 0.15 * rng.random())
        for _ in range(count)
    ]


_DRAW_COUNT = 65_537
_DRAWS = _draws(_DRAW_COUNT, seed=2026)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]
