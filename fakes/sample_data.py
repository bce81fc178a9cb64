"""Bundled Kolada metadata and generated SAMPLE values for the fake servers.

The KPI catalogue, the 312 areas and the area groups in ``fakes/data/`` are real
Kolada v3 metadata (March 2026, recorded by the rKolada package). The VALUES are
NOT real statistics: ``SampleValues`` makes them up, deterministically in KPI, area
and year, so demos and benchmarks look plausible and repeat exactly. Never present
them as Kolada figures.

Plausible means:

* ``classify_kpi`` reads what a KPI measures from its title: a share in per cent or an
  index on 0–100 stays within 0–100, kronor per inhabitant and rates per 1000
  inhabitants get a level of their kind, a count ("antal") grows with the area's
  population, ages, life expectancies and grade points stay in their ranges.
* ``population`` gives every kommun a made-up but plausible size (Stockholm about a
  million, most kommuner 5,000–60,000); the fake SCB (``fakes/scb_server.py``) uses the
  same function, so the two fakes agree.
* Riket ``0000`` and the regions ``00XX`` are made from their kommuner as the real ones
  are: counts are sums, shares, rates and means population-weighted means.
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import json
import math
import random
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any, Literal, NamedTuple, TypedDict

from sources.landing import SAMPLE_HEADER

DATA_DIR = Path(__file__).parent / "data"
KPI_CATALOGUE_FILE = DATA_DIR / "kpi_catalogue_2026-03.jsonl.gz"
MUNICIPALITIES_FILE = DATA_DIR / "municipalities_2026-03.json.gz"
MUNICIPALITY_GROUPS_FILE = DATA_DIR / "municipality_groups_2026-03.jsonl.gz"

# Every answer of the fake servers carries this header: its values are generated.
SAMPLE_DATA_HEADER = SAMPLE_HEADER  # stated once, where the landing reads it
SAMPLE_DATA_HEADER_VALUE = "generated"

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


# -- population (SAMPLE values) ---------------------------------------------------------

# The generated populations are anchored at the end of this year.
BASE_YEAR = 2025

# County populations at the end of 2025: the sums of the age groups in the recorded SCB
# answer ``data/scb/data/v2_TAB6471_...`` (2026M01). The generated kommuner of a county
# are scaled to its sum, so the fake SCB's recorded county cells and its generated
# kommun cells fit together; how a county divides among its kommuner is made up.
_COUNTY_POPULATION = {
    "01": 2_486_498, "03": 410_714, "04": 300_201, "05": 472_456, "06": 369_750,
    "07": 202_962, "08": 245_298, "09": 60_841, "10": 156_544, "12": 1_433_161,
    "13": 345_932, "14": 1_777_706, "17": 282_902, "18": 308_340, "19": 280_653,
    "20": 286_028, "21": 283_373, "22": 240_467, "23": 132_810, "24": 278_848,
    "25": 248_999,
}  # fmt: skip

# Kommun sizes at the end of 2025 that are pinned, not drawn: the three the fake SCB
# serves as recorded 2025 cells (TAB5557: Stockholm, Upplands Väsby, Vallentuna), so a
# series joined from generated years and that recorded year does not jump, and the
# largest cities, rounded, so they look like themselves.
_PINNED_POPULATION = {
    "0180": 999_239, "0114": 50_495, "0115": 35_361,
    "1480": 610_000, "1280": 363_000, "0380": 249_000, "0580": 167_000, "1880": 160_000,
    "1980": 160_000, "1283": 152_000, "0680": 146_000, "0581": 146_000, "2480": 133_000,
    "1281": 129_000, "1490": 115_000, "0484": 108_000, "1380": 106_000, "2180": 104_000,
    "0181": 102_000, "2281": 100_000, "0780": 97_000, "1780": 96_000, "1290": 87_000,
    "2580": 80_000, "2482": 80_000, "0880": 72_000, "1080": 67_000, "2380": 65_000,
    "2080": 60_000, "1488": 60_000, "0480": 58_000, "0330": 20_000,
}  # fmt: skip

# Two kommuner the fake SCB serves recorded 1998–2005 cells for (TAB638): their
# generated population runs through the recorded 2005 one.
_RECORDED_2005 = {"0330": 13_324, "0380": 183_308}

_POPULATION_YEARS = range(1900, 2061)


class _Kommun(NamedTuple):
    population: dict[int, int]
    female_share: float


_KOMMUNER: dict[str, _Kommun] = {}
_KOMMUN_CODES: list[str] = []
_BUILDING = threading.Lock()  # the fake servers' threads may ask first at once


def kommun_codes() -> tuple[str, ...]:
    """The codes of the 290 real kommuner, in the order of Kolada's area list."""
    _build_population()
    return tuple(_KOMMUN_CODES)


def population(kommun: str, year: int) -> int:
    """A kommun's generated SAMPLE population at the end of ``year`` (not a statistic).

    Deterministic in the kommun code. The 290 real kommuner get sizes drawn
    log-normally (a county seat larger) and scaled to their county, some pinned (see
    ``_PINNED_POPULATION``), and a growth of their own (larger kommuner grow, small ones
    shrink, with a slow wobble); any other code gets a size drawn from its hash.
    """
    series = _kommun(kommun).population
    found = series.get(year)
    if found is None:
        found = series[min(max(year, _POPULATION_YEARS[0]), _POPULATION_YEARS[-1])]
    return found


def female_share(kommun: str) -> float:
    """The generated SAMPLE share of women in a kommun's population (about 0.5)."""
    return _kommun(kommun).female_share


def age_share(low: int, high: int | None) -> float:
    """The SAMPLE share of the population aged ``low``–``high`` (``None``: and older).

    One age profile for every area, roughly Swedish in shape; 100 stands for 100+.
    """
    low = max(0, min(low, 100))
    top = 100 if high is None else max(low, min(high, 100))
    return _AGE_CUMULATIVE[top + 1] - _AGE_CUMULATIVE[low]


def _age_weight(age: int) -> float:
    """Per cent of the population of one age, roughly Sweden's of the 2020s."""
    if age < 10:
        return 1.09
    if age < 20:
        return 1.16
    if age < 65:
        return 1.256
    if age < 80:
        return 1.1 - 0.018 * (age - 65)
    if age < 100:
        return 0.75 * math.exp(-0.13 * (age - 80))
    return 0.025


def _age_cumulative() -> list[float]:
    weights = [_age_weight(age) for age in range(101)]
    total = sum(weights)
    cumulative = [0.0]
    for weight in weights:
        cumulative.append(cumulative[-1] + weight / total)
    return cumulative


_AGE_CUMULATIVE = _age_cumulative()


def _kommun(code: str) -> _Kommun:
    _build_population()
    found = _KOMMUNER.get(code)
    if found is None:
        rng = random.Random(_bits(f"population|{code}"))
        size = min(max(16_000 * math.exp(0.8 * rng.gauss(0, 1)), 2_500), 150_000)
        found = _KOMMUNER[code] = _kommun_series(code, size, rng, recorded_2005=None)
    return found


def _build_population() -> None:
    if _KOMMUN_CODES:
        return
    with _BUILDING:
        if not _KOMMUN_CODES:
            _draw_populations()


def _draw_populations() -> None:
    """Every real kommun's yearly populations, drawn once (see ``population``)."""
    codes = [area["id"] for area in load_municipalities() if area.get("type") == "K"]
    drawn = sorted((code for code in codes if code not in _PINNED_POPULATION), key=_bits)
    normal = NormalDist()
    weight = {
        code: math.exp(0.7 * normal.inv_cdf((rank + 0.5) / len(drawn)))
        * (4.0 if code.endswith("80") else 1.0)
        for rank, code in enumerate(drawn)
    }
    sizes: dict[str, float] = dict(_PINNED_POPULATION)
    for county, total in _COUNTY_POPULATION.items():
        members = [code for code in drawn if code[:2] == county]
        pinned = sum(size for code, size in _PINNED_POPULATION.items() if code[:2] == county)
        scale = max(total - pinned, 0) / max(sum(weight[code] for code in members), 1e-9)
        for code in members:
            sizes[code] = max(weight[code] * scale, 2_300)
    for code in codes:
        size = sizes.get(code) or 16_000 * weight.get(code, 1.0)
        rng = random.Random(_bits(f"population|{code}"))
        _KOMMUNER[code] = _kommun_series(code, size, rng, _RECORDED_2005.get(code))
    _KOMMUN_CODES.extend(codes)


def _kommun_series(
    code: str, size: float, rng: random.Random, recorded_2005: int | None
) -> _Kommun:
    """Yearly populations: ``size`` at the end of BASE_YEAR, a growth, a slow wobble."""
    if recorded_2005 is not None:
        growth, wobble, period = math.log(size / recorded_2005) / (BASE_YEAR - 2005), 0.0, 10.0
    else:
        growth = 0.0025 + 0.006 * math.log10(size / 20_000) + 0.004 * rng.gauss(0, 1)
        growth += 0.003 if code[:2] == "01" else 0.0
        growth = min(max(growth, -0.012), 0.025)
        wobble, period = 0.004 + 0.008 * rng.random(), 9.0 + 5.0 * rng.random()
    women = min(max(0.497 + 0.005 * rng.gauss(0, 1), 0.485), 0.51)
    series = {
        year: round(
            size
            * math.exp(
                growth * (year - BASE_YEAR)
                + wobble * math.sin(2 * math.pi * (year - BASE_YEAR) / period)
            )
        )
        for year in _POPULATION_YEARS
    }
    return _Kommun(series, women)


# -- what a KPI measures --------------------------------------------------------------

KindName = Literal[
    "share", "index", "population", "population_change", "count", "level", "range",
    "signed", "signed_count", "categorical",
]  # fmt: skip


@dataclass(frozen=True)
class KpiKind:
    """What a KPI measures, read from its title, and how its SAMPLE values are drawn.

    ``centre``: the range a KPI's own centre is drawn from (per cent for shares and
    indexes, the value itself for levels and ranges, per inhabitant for counts);
    ``spread``: how much kommuner differ (logit for shares and indexes, log for levels
    and counts, the value's own unit for ranges and signed values); ``trend``: per year,
    in the same unit; ``bounds``: the values stay within; ``aggregate``: how Riket and a
    region are made from their kommuner.
    """

    kind: KindName
    centre: tuple[float, float] = (1.0, 10_000.0)
    spread: tuple[float, float] = (0.15, 0.4)
    trend: tuple[float, float] = (-0.01, 0.02)
    bounds: tuple[float, float] | None = None
    decimals: int = 1
    codes: tuple[int, ...] = ()
    ages: tuple[tuple[int, int | None], ...] = ()
    years: int = 0

    @property
    def aggregate(self) -> Literal["sum", "mean"]:
        if self.kind == "population_change":
            return "mean" if self.decimals else "sum"
        return "sum" if self.kind in ("population", "count", "signed_count") else "mean"


_CODES = re.compile(r"=\s*(\d+)\b")
_POPULATION_TITLE = re.compile(
    r"invånare (totalt|[\d+\- ]+(?:år)?(?: och [\d+\- ]+(?:år)?)?), (antal|andel \(%\))"
)
_POPULATION_CHANGE = re.compile(
    r"befolkningsförändring (?:i antal invånare|i åldersgruppen [^,]*?) "
    r"(sedan föregående år|under (?:den )?senaste femårsperioden), (procent|antal)"
)
_AGES = re.compile(r"(\d+)\s*(?:-\s*(\d+)|(\+))?")
_SIGNED = re.compile(
    r"förändring\b|procentenheter|avvikelse|utjämningsnetto|utjämningssystemet|"
    r"bidrag/avgift|\bnetto\b|flyttnetto|födelsenetto|\bresultat\b|överskott|underskott"
)
_SHARE = re.compile(r"andel|%|procent|\banel\b|svarsfrekvens")
_INDEX = re.compile(r"index|\(0-100\)|\bnki\b|\bnmi\b|\bnöjd")
_LOW_SHARE = re.compile(
    r"arbetslös|ohälsa|fetma|övervikt|\brök|bistånd|långtids|sjuk|avbrutit|väntat längre|"
    r"våld|brott|utsatt|mobb|ensam|avstår|saknar|\binte\b|\bej\b|\butan\b|kränk|olyck|"
    r"skadlig|missbruk|avhopp|vräkning|hemlös|undernär|trång"
)
_HIGH_SHARE = re.compile(
    r"nöjd|behörig|trygg|examen|godkänd|helhetssyn|rekommendera|sysselsättningsgrad|"
    r"valdeltagande|röstade|uppnått|klarat|positiv|\bbra\b|förtroende|delaktig|"
    r"har svarat|svarat|\bja\b|tillgång"
)
_PER_INHABITANT = re.compile(r"/\s*inv|per inv|/\s*invånare|/\s*person|/\s*ätande")
_MONEY_PER_GROUP = re.compile(r"kr/inv(?:ånare)?\s+\d")  # kronor per inhabitant 65+ …

_RANGES: tuple[tuple[str, KpiKind], ...] = (
    ("meritvärde", KpiKind("range", (205, 240), (8, 16), (0.0, 0.8), (0, 340), 1)),
    ("betygspoäng", KpiKind("range", (11, 15), (0.5, 1.0), (0.0, 0.05), (0, 20), 1)),
    ("medelbetyg", KpiKind("range", (5.5, 7.5), (0.3, 0.6), (0.0, 0.02), (0, 10), 1)),
    ("balanstal", KpiKind("range", (0.5, 1.1), (0.1, 0.2), (0.0, 0.01), (0, 3), 2)),
    ("försörjningskvot", KpiKind("range", (0.7, 0.9), (0.04, 0.08), (0.0, 0.005), (0.4, 1.3), 2)),
    ("barn/kvinna", KpiKind("range", (1.45, 1.85), (0.1, 0.2), (-0.01, 0.0), (0.8, 3), 2)),
    ("gini", KpiKind("range", (0.26, 0.34), (0.015, 0.03), (0.0, 0.002), (0.1, 0.7), 3)),
)


def classify_kpi(kpi: dict[str, Any]) -> KpiKind:
    """What a KPI measures, from its title (and, for 0–100 scales, its description).

    The first rule that fits decides: coded answers (``Ja=1, Nej=0``) are categorical;
    "Invånare …, antal" is the population (or an age group of it); changes, deviations
    and net figures are signed; shares ("andel", "%", "procent") and indexes stay within
    0–100; kronor, rates per 1000/10 000/100 000 inhabitants, days, ages and grades get
    levels of their kind; "antal" is a count that grows with the population; anything
    else a positive level between 1 and 10,000.
    """
    title = " ".join(str(kpi.get("title") or "").casefold().split())
    description = str(kpi.get("description") or "").casefold()
    codes = sorted({int(code) for code in _CODES.findall(title)})
    if len(codes) >= 2:
        return KpiKind("categorical", codes=tuple(codes), decimals=0)
    if found := _POPULATION_TITLE.fullmatch(title.split(" (-")[0]):
        return _population_kind(found.group(1), share=found.group(2) != "antal")
    if found := _POPULATION_CHANGE.match(title):
        years = 1 if found.group(1) == "sedan föregående år" else 5
        return KpiKind("population_change", decimals=int(found.group(2) == "procent"), years=years)
    if _SIGNED.search(title):
        return _signed_kind(title)
    if _SHARE.search(title):
        if _LOW_SHARE.search(title):
            centre = (3.0, 25.0)
        elif _HIGH_SHARE.search(title):
            centre = (65.0, 92.0)
        else:
            centre = (20.0, 80.0)
        return KpiKind("share", centre, (0.15, 0.45), (-0.02, 0.03), (0, 100), 1)
    if _INDEX.search(title) or "skala 0-100" in description or "(0-100)" in description:
        return KpiKind("index", (55.0, 85.0), (0.1, 0.3), (-0.01, 0.02), (0, 100), 0)
    for word, kind in _RANGES:
        if word in title:
            return kind
    if "medellivslängd" in title:
        if "65" in title:
            centre = (19.0, 22.0)
        elif "kvinnor" in title:
            centre = (83.0, 85.5)
        elif "män" in title:
            centre = (79.5, 82.5)
        else:
            centre = (81.0, 84.0)
        return KpiKind("range", centre, (0.5, 1.2), (0.05, 0.15), (14, 95), 1)
    if "medelålder" in title:
        centre = (40.0, 44.0) if title.startswith("medelålder,") else (78.0, 86.0)
        return KpiKind("range", centre, (1.0, 2.5), (0.0, 0.08), (20, 100), 1)
    return _unit_kind(title)


def _population_kind(ages_text: str, *, share: bool) -> KpiKind:
    ages: tuple[tuple[int, int | None], ...]
    if ages_text == "totalt":
        ages = ((0, None),)
    else:
        ages = tuple(
            (int(low), None if plus else int(high or low))
            for low, high, plus in _AGES.findall(ages_text)
        )
    if share:
        centre = 100 * sum(age_share(low, high) for low, high in ages)
        return KpiKind("share", (centre, centre), (0.05, 0.15), (-0.005, 0.005), (0, 100), 1)
    return KpiKind("population", decimals=0, ages=ages)


def _signed_kind(title: str) -> KpiKind:
    if "miljoner kronor" in title or re.search(r"\bm(n)?kr\b", title):
        return KpiKind("signed_count", (-5e-4, 5e-4), (2e-4, 8e-4), (0.0, 0.0), None, 1)
    if re.search(r"\bkr\b|kronor", title):
        return KpiKind("signed", (-3_000.0, 3_000.0), (500.0, 3_000.0), (0.0, 50.0), None, 0)
    if _SHARE.search(title):
        longer = any(word in title for word in ("fem", "5 år", "10 år", "tio"))
        factor = 4.0 if longer else 1.0
        return KpiKind(
            "signed", (-1.0 * factor, 2.0 * factor), (0.6 * factor, 1.5 * factor),
            (0.0, 0.0), (-100, 100), 1,
        )  # fmt: skip
    if "antal" in title or "netto" in title:
        return KpiKind("signed_count", (-2e-3, 6e-3), (2e-3, 5e-3), (0.0, 0.0), None, 0)
    return KpiKind("signed", (-1.0, 1.0), (0.5, 2.0), (0.0, 0.0), None, 2)


def _unit_kind(title: str) -> KpiKind:
    """Levels, rates and counts by the unit the title names."""
    per_inhabitant = bool(_PER_INHABITANT.search(title))
    if "miljoner kronor" in title or re.search(r"\bm(n)?kr\b", title):
        return KpiKind("count", (2e-3, 0.1), (0.2, 0.5), (0.01, 0.04), decimals=1)
    if re.search(r"\btkr/inv|1000 kr/inv", title):
        return KpiKind("level", (100.0, 1_500.0), (0.15, 0.4), (0.01, 0.04), decimals=0)
    if re.search(r"\btkr\b", title):
        if "inkomst" in title or "median" in title:
            return KpiKind("level", (250.0, 400.0), (0.08, 0.15), (0.02, 0.035), decimals=1)
        if "pris" in title:
            return KpiKind("level", (1_000.0, 5_000.0), (0.3, 0.6), (0.02, 0.06), decimals=0)
        return KpiKind("count", (0.05, 5.0), (0.2, 0.5), (0.01, 0.04), decimals=0)
    if re.search(r"\bkr\b|kronor", title):
        if re.search(r"inkomst|skattekraft|skatteunderlag", title):
            return KpiKind("level", (180_000.0, 320_000.0), (0.08, 0.15), (0.02, 0.035), decimals=0)
        if _MONEY_PER_GROUP.search(title):
            return KpiKind("level", (2_000.0, 120_000.0), (0.15, 0.35), (0.02, 0.04), decimals=0)
        if re.search(r"kr/inv|kr/invånare|kr per inv|kr/vuxna", title):
            return KpiKind("level", (300.0, 40_000.0), (0.15, 0.35), (0.02, 0.04), decimals=0)
        if "kr/" in title or "kr per" in title:
            if "kvm" in title:
                level = (100.0, 2_500.0)
            elif "dygn" in title:
                level = (500.0, 8_000.0)
            elif "drg" in title:
                level = (50_000.0, 80_000.0)
            elif "ljuspunkt" in title or "meter" in title:
                level = (50.0, 1_500.0)
            else:
                level = (10_000.0, 300_000.0)
            return KpiKind("level", level, (0.1, 0.3), (0.02, 0.04), decimals=0)
        level = (150_000.0, 450_000.0) if "inkomst" in title else (1_000.0, 300_000.0)
        return KpiKind("level", level, (0.1, 0.3), (0.02, 0.04), decimals=0)
    if re.search(r"/\s*100 000|per 100 000", title):
        return KpiKind("level", (5.0, 3_000.0), (0.2, 0.5), (-0.02, 0.02), decimals=1)
    if re.search(r"/\s*10 000|per 10 000", title):
        return KpiKind("level", (1.0, 400.0), (0.2, 0.5), (-0.02, 0.02), decimals=1)
    if re.search(r"/\s*1 ?000\b|/1000inv|per 1 ?000\b|promille", title):
        level = (300.0, 1_500.0) if "recept" in title else (0.5, 150.0)
        return KpiKind("level", level, (0.2, 0.5), (-0.02, 0.02), decimals=1)
    if re.search(r"/\s*100\b|per 100\b", title):
        return KpiKind("level", (1.0, 60.0), (0.2, 0.4), (-0.02, 0.02), decimals=1)
    for word, level in (
        ("dagar", (3.0, 60.0)), ("minuter", (5.0, 60.0)), ("timmar", (2.0, 40.0)),
        ("månader", (2.0, 24.0)), ("veckor", (2.0, 20.0)),
    ):  # fmt: skip
        if word in title:
            return KpiKind("level", level, (0.15, 0.35), (-0.02, 0.02), decimals=1)
    if re.search(r", år\b", title):
        return KpiKind("range", (5.0, 25.0), (1.0, 3.0), (0.0, 0.05), (0, 100), 1)
    if per_inhabitant:
        for word, level in (
            ("kg", (20.0, 600.0)), ("ton", (1.0, 10.0)), ("mwh", (5.0, 40.0)),
            ("kwh", (1_000.0, 10_000.0)), ("liter", (50.0, 250.0)), ("gram", (20.0, 150.0)),
            ("kbm", (30.0, 150.0)), ("kvm", (1.0, 10.0)), ("meter", (1.0, 20.0)),
            ("mil", (300.0, 1_000.0)), ("resor", (10.0, 300.0)), ("antal", (0.05, 20.0)),
        ):  # fmt: skip
            if word in title:
                return KpiKind("level", level, (0.15, 0.4), (-0.02, 0.02), decimals=2)
        return KpiKind("level", (0.5, 50.0), (0.15, 0.4), (-0.02, 0.02), decimals=2)
    if "mbit/s" in title:
        return KpiKind("level", (50.0, 400.0), (0.2, 0.4), (0.05, 0.12), decimals=1)
    if "antal" in title:
        if "/" in title or " per " in title:
            return KpiKind("level", (3.0, 20.0), (0.15, 0.35), (-0.01, 0.01), decimals=1)
        if "antal svar" in title:
            return KpiKind("count", (5e-3, 0.05), (0.2, 0.5), (-0.02, 0.02), decimals=0)
        return KpiKind("count", (1e-4, 0.03), (0.2, 0.5), (-0.01, 0.015), decimals=0)
    if "/" in title:
        return KpiKind("level", (1.0, 300.0), (0.15, 0.4), (-0.02, 0.02), decimals=1)
    if "kvadratkilometer" in title:
        return KpiKind("level", (10.0, 5_000.0), (0.5, 1.0), (0.0, 0.0), decimals=1)
    for word, per_head in (
        ("ton", (0.01, 2.0)), ("kg", (5.0, 500.0)), ("mwh", (2.0, 30.0)),
        ("hektar", (0.005, 1.0)), ("kvm", (0.5, 10.0)), ("meter", (0.5, 20.0)),
        ("km", (0.001, 0.02)), ("kbm", (10.0, 200.0)), ("mw", (1e-4, 3e-3)),
    ):  # fmt: skip
        if re.search(rf"\b{word}\b", title):
            return KpiKind("count", per_head, (0.2, 0.5), (-0.02, 0.02), decimals=0)
    if re.search(r"genomsnitt|medelvärde|median|medel", title):
        return KpiKind("level", (1.0, 100.0), (0.1, 0.3), (-0.01, 0.01), decimals=1)
    return KpiKind("level", (1.0, 10_000.0), (0.15, 0.4), (-0.01, 0.02), decimals=1)


# -- SAMPLE values for Kolada ------------------------------------------------------------

_BOUNDED, _LOG, _LINEAR, _COUNT, _SIGNED_COUNT, _POPULATION, _CATEGORICAL = range(7)
_MODES = {
    "share": _BOUNDED, "index": _BOUNDED, "level": _LOG, "range": _LINEAR,
    "signed": _LINEAR, "count": _COUNT, "signed_count": _SIGNED_COUNT,
    "population": _POPULATION, "population_change": _POPULATION,
    "categorical": _CATEGORICAL,
}  # fmt: skip
# Trends are counted from this year.
_TREND_YEAR = 2015

# One area's (T, K, M) for a KPI and year; K and M are None unless divided by gender.
Numbers = tuple[float, float | None, float | None]


class _Area(NamedTuple):
    code: str
    offset: int
    population: dict[int, int]
    women: float


# Areas' T values, and their K and M values (None unless divided by gender).
Columns = tuple[list[float | None], list[float | None] | None, list[float | None] | None]
NumbersFunction = Callable[[Sequence[_Area], int], Columns]


class _Spec(NamedTuple):
    """One KPI's drawn parameters and the function computing kommuner's numbers."""

    numbers: NumbersFunction
    total: bool
    divided: bool
    decimals: int
    last_year: int


_MISSING: Any = object()
_CACHED_TABLES = 64


class SampleValues:
    """Generated SAMPLE values, not statistics: deterministic in (KPI, area, year).

    Every area gets a record for every catalogued KPI and year up to the last one
    published (the year before the KPI's ``publ_period``, the year its next publication
    covers): ``T``, plus ``K`` and ``M`` when the KPI is divided by gender; about one
    kommun value in 30 is null. What a value looks like follows ``classify_kpi``; Riket
    and the regions are the sum or population-weighted mean of their kommuner in
    ``municipalities`` (the real area list unless given), computed once per KPI and
    year. Areas outside that list are treated as kommuner.
    """

    def __init__(
        self,
        catalogue: Iterable[dict[str, Any]],
        municipalities: Iterable[dict[str, Any]] | None = None,
    ):
        self._catalogue = {kpi["id"]: kpi for kpi in catalogue}
        areas = load_municipalities() if municipalities is None else list(municipalities)
        self._kommuner = [_area(area["id"]) for area in areas if area.get("type") == "K"]
        self._codes = [kommun.code for kommun in self._kommuner]
        # Riket and the regions are made from counties: a region ``00XX`` is the county XX
        # (its kommuner's codes start with XX; Region Gotland 0009 is kommun 0980).
        counties = sorted({kommun.code[:2] for kommun in self._kommuner})
        self._county_of = [counties.index(kommun.code[:2]) for kommun in self._kommuner]
        self._aggregates: dict[str, list[int]] = {}
        for area in areas:
            code = str(area["id"])
            if area.get("type") != "L" or not code.startswith("00"):
                continue
            if code == "0000":
                self._aggregates[code] = list(range(len(counties)))
            elif code[2:] in counties:
                self._aggregates[code] = [counties.index(code[2:])]
        self._specs: dict[str, _Spec | None] = {}
        self._population_weights: dict[int, list[float]] = {}
        self._tables: dict[tuple[str, int], dict[str, list[dict[str, Any]] | None]] = {}

    def __call__(self, kpi: str, municipality: str, year: int) -> list[dict[str, Any]] | None:
        table = self._tables.get((kpi, year))
        if table is None:
            spec = self._specs.get(kpi, _MISSING)
            if spec is _MISSING:
                spec = self._specs[kpi] = self._spec(kpi)
            if spec is None or year > spec.last_year:
                return None
            table = self._table(spec, kpi, year)
        found = table.get(municipality, _MISSING)
        if found is not _MISSING:
            return found
        spec = self._specs[kpi]
        assert spec is not None
        totals, women, men = spec.numbers([_area(municipality)], year)
        if totals[0] is None:
            return _records(spec, None)
        return _records(spec, (totals[0], women[0] if women else None, men[0] if men else None))

    def kind(self, kpi: str) -> KpiKind | None:
        """What ``classify_kpi`` made of a catalogued KPI."""
        found = self._catalogue.get(kpi)
        return None if found is None else classify_kpi(found)

    def _spec(self, kpi: str) -> _Spec | None:
        record = self._catalogue.get(kpi)
        if record is None:
            return None
        kind = classify_kpi(record)
        divided = bool(record.get("is_divided_by_gender"))
        publ_period = str(record.get("publ_period") or "")
        return _Spec(
            numbers=_numbers_function(kind, _bits(f"kpi|{kpi}"), divided),
            total=kind.aggregate == "sum",
            divided=divided,
            decimals=max(kind.decimals, 2) if kind.kind == "categorical" else kind.decimals,
            last_year=int(publ_period) - 1 if publ_period.isdigit() else 10_000,
        )

    def _table(self, spec: _Spec, kpi: str, year: int) -> dict[str, list[dict[str, Any]] | None]:
        """Every listed area's records for one KPI and year; Riket and regions from kommuner."""
        totals, women, men = spec.numbers(self._kommuner, year)
        # Per county: the sums of T, K and M and of their weights (population, or 1).
        sums = [[0.0] * 6 for _ in range(max(self._county_of, default=-1) + 1)]
        weights = self._weights(year, spec.total)
        for county, weight, both in zip(self._county_of, weights, totals, strict=True):
            if both is not None:
                county_sums = sums[county]
                county_sums[0] += weight * both
                county_sums[1] += weight
        if women is None or men is None:
            rows = [
                [{"gender": "T", "count": 1, "status": "", "value": both, "isdeleted": False}]
                for both in totals
            ]
        else:
            rows = [
                [
                    {"gender": "T", "count": 1, "status": "", "value": both, "isdeleted": False},
                    {"gender": "K", "count": 1, "status": "", "value": female, "isdeleted": False},
                    {"gender": "M", "count": 1, "status": "", "value": male, "isdeleted": False},
                ]
                for both, female, male in zip(totals, women, men, strict=True)
            ]
            for county, weight, female, male in zip(
                self._county_of, weights, women, men, strict=True
            ):
                if female is not None and male is not None:
                    county_sums = sums[county]
                    county_sums[2] += weight * female
                    county_sums[3] += weight
                    county_sums[4] += weight * male
                    county_sums[5] += weight
        table: dict[str, list[dict[str, Any]] | None] = dict(zip(self._codes, rows, strict=True))
        for code, members in self._aggregates.items():
            if len(members) == 1:
                summed = sums[members[0]]
            else:
                summed = [sum(column) for column in zip(*(sums[i] for i in members), strict=True)]
            table[code] = _records(spec, _aggregate(spec, summed))
        if len(self._tables) >= _CACHED_TABLES:
            self._tables.clear()
        self._tables[kpi, year] = table
        return table

    def _weights(self, year: int, total: bool) -> list[float]:
        """Each kommun's weight in its region's and Riket's value: 1 in a sum, else people."""
        if total:
            return [1.0] * len(self._kommuner)
        found = self._population_weights.get(year)
        if found is None:
            found = self._population_weights[year] = [
                float(population(kommun.code, year)) for kommun in self._kommuner
            ]
        return found


def _area(code: str) -> _Area:
    kommun = _kommun(code)
    offset = (_bits(f"area|{code}") >> 32) % _DRAW_COUNT
    return _Area(code, offset, kommun.population, kommun.female_share)


def _numbers_function(kind: KpiKind, seed: int, divided: bool) -> NumbersFunction:
    """A KPI's own parameters, drawn from its seed, in a function of (kommuner, year).

    A value is the KPI's centre, moved by the area's lasting difference
    (``_AREA_EFFECTS``, one per KPI and area), a trend and a little yearly noise
    (``_DRAWS``), each on the scale of its kind. The function answers columns: the
    areas' T values, and their K and M values (None unless divided by gender). Table
    look-ups instead of a hash per value, and one call per list of areas, keep the fake
    server fast. For the same reason each kind of value has its own loop: one shared loop
    calling a function per value measured 34 % slower (2.15 s against 1.60 s for 100 KPIs
    × 312 areas × 25 years), and the fake's speed bounds the benchmarks' fetch figures.
    """
    rng = random.Random(seed)
    mode = _MODES[kind.kind]
    base = (seed >> 32) % _DRAW_COUNT  # small ints keep the arithmetic fast
    low, high = kind.bounds or (-math.inf, math.inf)
    uniform = rng.random()
    drawn = kind.centre[0] + (kind.centre[1] - kind.centre[0]) * uniform
    spread = kind.spread[0] + (kind.spread[1] - kind.spread[0]) * rng.random()
    trend = kind.trend[0] + (kind.trend[1] - kind.trend[0]) * rng.random()
    relative = mode in (_BOUNDED, _LOG, _COUNT)
    noise = spread * (0.1 + 0.15 * rng.random() if relative else 0.05 + 0.1 * rng.random())
    women_share = 0.5 + 0.1 * (rng.random() - 0.5)
    gender = 0.15 * (2 * rng.random() - 1)
    decimals = kind.decimals
    draws, effects, uniforms, count = _DRAWS, _AREA_EFFECTS, _AREA_UNIFORM, _DRAW_COUNT
    exp = math.exp

    if mode == _BOUNDED:
        share = min(max(drawn, 0.5), 99.5) / 100
        start = math.log(share / (1 - share)) - trend * _TREND_YEAR

        def bounded(areas: Sequence[_Area], year: int) -> Columns:
            totals: list[float | None] = []
            women: list[float | None] = []
            men: list[float | None] = []
            level, year_index = start + trend * year, year * 7919 % count
            for area in areas:
                offset = base + area.offset
                is_null, wobble, _ = draws[(offset + year_index) % count]
                if is_null:
                    totals.append(None)
                    if divided:
                        women.append(None)
                        men.append(None)
                    continue
                shift = level + spread * effects[offset % count] + noise * wobble
                value = 100.0 / (1.0 + exp(-shift))
                totals.append(round(value, decimals))
                if divided:
                    gap = (gender + 0.04 * wobble) * value * (100.0 - value) / 100.0
                    women.append(round(value + gap, decimals))
                    men.append(round(value - gap, decimals))
            return (totals, women, men) if divided else (totals, None, None)

        return bounded

    if mode in (_LOG, _COUNT):
        # Log-uniform: a level of 10 is as likely as one of 1000.
        start = math.log(kind.centre[0]) + math.log(kind.centre[1] / kind.centre[0]) * uniform
        start -= trend * _TREND_YEAR
        per_head = mode == _COUNT

        def level(areas: Sequence[_Area], year: int) -> Columns:
            totals: list[float | None] = []
            women: list[float | None] = []
            men: list[float | None] = []
            log_level, year_index = start + trend * year, year * 7919 % count
            for area in areas:
                offset = base + area.offset
                is_null, wobble, _ = draws[(offset + year_index) % count]
                if is_null:
                    totals.append(None)
                    if divided:
                        women.append(None)
                        men.append(None)
                    continue
                value = exp(log_level + spread * effects[offset % count] + noise * wobble)
                if per_head:
                    value = round(value * _population_of(area, year), decimals)
                    totals.append(value)
                    if divided:
                        share = round(value * (women_share + 0.02 * wobble), decimals)
                        women.append(share)
                        men.append(round(value - share, decimals))
                    continue
                totals.append(round(value, decimals))
                if divided:
                    gap = gender + 0.03 * wobble
                    women.append(round(value * (1 + gap), decimals))
                    men.append(round(value * (1 - gap), decimals))
            return (totals, women, men) if divided else (totals, None, None)

        return level

    if mode in (_LINEAR, _SIGNED_COUNT):
        start = drawn - trend * _TREND_YEAR
        per_head = mode == _SIGNED_COUNT

        def linear(areas: Sequence[_Area], year: int) -> Columns:
            totals: list[float | None] = []
            women: list[float | None] = []
            men: list[float | None] = []
            centre, year_index = start + trend * year, year * 7919 % count
            for area in areas:
                offset = base + area.offset
                is_null, wobble, _ = draws[(offset + year_index) % count]
                if is_null:
                    totals.append(None)
                    if divided:
                        women.append(None)
                        men.append(None)
                    continue
                value = centre + spread * effects[offset % count] + noise * wobble
                if per_head:
                    value = round(value * _population_of(area, year), decimals)
                    totals.append(value)
                    if divided:
                        share = round(value * women_share, decimals)
                        women.append(share)
                        men.append(round(value - share, decimals))
                    continue
                value = min(max(value, low), high)
                totals.append(round(value, decimals))
                if divided:
                    gap = (gender + 0.05 * wobble) * spread * 2
                    women.append(round(min(max(value + gap, low), high), decimals))
                    men.append(round(min(max(value - gap, low), high), decimals))
            return (totals, women, men) if divided else (totals, None, None)

        return linear

    if mode == _POPULATION and kind.years:
        # Exact: the change of ``population`` over ``years``; never null.
        back, percent = kind.years, bool(kind.decimals)

        def change(areas: Sequence[_Area], year: int) -> Columns:
            totals: list[float | None] = []
            women: list[float | None] = []
            men: list[float | None] = []
            for area in areas:
                now, then = _population_of(area, year), _population_of(area, year - back)
                if percent:
                    value = round(100.0 * (now - then) / then, decimals)
                    totals.append(value)
                    women.append(value)
                    men.append(value)
                else:
                    share = round((now - then) * area.women)
                    totals.append(float(now - then))
                    women.append(float(share))
                    men.append(float(now - then - share))
            return (totals, women, men) if divided else (totals, None, None)

        return change

    if mode == _POPULATION:
        # Exact: "Invånare totalt, antal" is ``population``; never null.
        share = sum(age_share(low_age, high_age) for low_age, high_age in kind.ages)

        def people(areas: Sequence[_Area], year: int) -> Columns:
            totals: list[float | None] = []
            women: list[float | None] = []
            men: list[float | None] = []
            for area in areas:
                value = round(_population_of(area, year) * share)
                totals.append(float(value))
                if divided:
                    female = round(value * area.women)
                    women.append(float(female))
                    men.append(float(value - female))
            return (totals, women, men) if divided else (totals, None, None)

        return people

    # Categorical: an area keeps its answer, now and then changing it.
    weights = [0.2 + rng.random() for _ in kind.codes]
    cuts = [sum(weights[: i + 1]) / sum(weights) for i in range(len(weights) - 1)]
    codes = [float(code) for code in kind.codes]

    def categorical(areas: Sequence[_Area], year: int) -> Columns:
        totals: list[float | None] = []
        year_index = year * 7919 % count
        for area in areas:
            offset = base + area.offset
            is_null, _, draw = draws[(offset + year_index) % count]
            if is_null:
                totals.append(None)
                continue
            choice = uniforms[offset % count] if draw >= 0.15 else draw / 0.15
            totals.append(codes[bisect.bisect(cuts, choice)])
        return (totals, totals, totals) if divided else (totals, None, None)

    return categorical


def _population_of(area: _Area, year: int) -> int:
    return area.population.get(year) or population(area.code, year)


def _aggregate(spec: _Spec, sums: Sequence[float]) -> Numbers | None:
    """Riket's or a region's (T, K, M) from its kommuner's sums: a sum or a weighted mean."""
    if not sums[1]:
        return None
    decimals = spec.decimals
    if spec.total:
        women, men = (
            (round(sums[2], decimals), round(sums[4], decimals)) if sums[3] else (None, None)
        )
        return round(sums[0], decimals), women, men
    if sums[3] and sums[5]:
        women, men = round(sums[2] / sums[3], decimals), round(sums[4] / sums[5], decimals)
    else:
        women = men = None
    return round(sums[0] / sums[1], decimals), women, men


def _records(spec: _Spec, numbers: Numbers | None) -> list[dict[str, Any]]:
    if numbers is None:
        if spec.divided:
            return [_value("T", None), _value("K", None), _value("M", None)]
        return [_value("T", None)]
    total, women, men = numbers
    if not spec.divided:
        return [_value("T", total)]
    return [_value("T", total), _value("K", women), _value("M", men)]


class SampleKolada(TypedDict):
    """Keyword arguments for ``FakeKolada``: real metadata, generated SAMPLE values."""

    catalogue: list[dict[str, Any]]
    municipalities: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    values: SampleValues


def sample_kolada() -> SampleKolada:
    """The bundled real metadata and generated SAMPLE values: ``FakeKolada(**sample_kolada())``."""
    catalogue = load_kpi_catalogue()
    municipalities = load_municipalities()
    return SampleKolada(
        catalogue=catalogue,
        municipalities=municipalities,
        groups=load_municipality_groups(),
        values=SampleValues(catalogue, municipalities),
    )


def _value(gender: str, value: float | None) -> dict[str, Any]:
    return {"gender": gender, "count": 1, "status": "", "value": value, "isdeleted": False}


def _bits(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _draws(count: int, seed: int) -> list[tuple[bool, float, float]]:
    """Pre-drawn (null?, yearly noise, uniform) triples for ``SampleValues``."""
    rng = random.Random(seed)
    return [(rng.random() < _NULL_SHARE, _normal(rng), rng.random()) for _ in range(count)]


def _normal(rng: random.Random) -> float:
    """About N(0, 1), within ±2.5."""
    return min(max(rng.gauss(0, 1), -2.5), 2.5)


# A table lookup instead of a hash per value keeps the fake server fast. A (KPI, area)'s
# lasting difference is the draw at its offset, a year's noise the draw at the offset
# moved by the year (a prime count keeps the two apart).
_DRAW_COUNT = 65_537
_DRAWS = _draws(_DRAW_COUNT, seed=2026)
_AREA_EFFECTS = [draw[1] for draw in _DRAWS]
_AREA_UNIFORM = [draw[2] for draw in _DRAWS]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]
