"""Generated SAMPLE data for the load benchmarks, landed exactly as a real refresh lands it.

The pages are what the fake Kolada answers (`fakes.kolada_server`: the real v3 page
envelope and record shape, real KPI ids and the 312 real areas, SAMPLE values from
`fakes.sample_data.SampleValues`), fetched through its request handler without a socket
and landed with `sources.landing.RawStore` as gzip `.json.gz` objects plus a manifest.
None of the values are statistics.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from fakes.kolada_server import FakeKolada
from fakes.sample_data import load_kpi_catalogue, sample_kolada
from sources.http import Response
from sources.kolada.planning import plan_data_queries
from sources.landing import RawStore

# The large plan: every area, 25 years.
YEARS = tuple(range(2000, 2025))
AREAS = 312
# The URL the landed pages claim: clearly not Kolada.
SYNTHETIC_BASE = "http://fake-kolada.invalid/v3"


@dataclass(frozen=True)
class LandedSample:
    """A landed synthetic run: where it is, what it holds."""

    raw_dir: Path
    run_id: str
    kpi_ids: tuple[str, ...]
    years: tuple[int, ...]
    observations: int
    pages: int


def eligible_kpis(years: int = len(YEARS)) -> Iterator[tuple[str, int]]:
    """The kommun KPIs by id, each with its rows for every area × ``years`` × gender."""
    for kpi in sorted(load_kpi_catalogue(), key=lambda k: k["id"]):
        if kpi.get("municipality_type") not in ("K", "A") or kpi["id"].startswith("U"):
            continue
        # The fake has values up to the year before publ_period (fakes/sample_data.py):
        # only KPIs published for every year of the plan keep the row count exact.
        published = str(kpi.get("publ_period") or "")
        if published.isdigit() and int(published) - 1 < YEARS[-1]:
            continue
        yield kpi["id"], AREAS * years * (3 if kpi.get("is_divided_by_gender") else 1)


def kpis_for(observations: int, years: int = len(YEARS)) -> tuple[list[str], int]:
    """The first kommun KPIs (by id) whose area × year × gender rows reach ``observations``."""
    chosen: list[str] = []
    total = 0
    for kpi, rows in eligible_kpis(years):
        if total >= observations:
            break
        chosen.append(kpi)
        total += rows
    return chosen, total


def first_kpis(count: int, years: int = len(YEARS)) -> tuple[list[str], int]:
    """The first ``count`` kommun KPIs (by id) and their area × year × gender rows."""
    chosen = list(itertools.islice(eligible_kpis(years), count))
    return [kpi for kpi, _ in chosen], sum(rows for _, rows in chosen)


def land_sample(work_dir: Path, observations: int, years: tuple[int, ...] = YEARS) -> LandedSample:
    """Land (once; reused when complete) a synthetic plan of about ``observations`` rows."""
    kpi_ids, _ = kpis_for(observations, len(years))
    run_id = f"synthetic-{observations}"
    raw_dir = work_dir / f"raw-{observations}"
    store = RawStore(raw_dir)
    info_path = raw_dir / "SYNTHETIC.json"
    if run_id in store.completed_run_ids() and info_path.exists():
        info = json.loads(info_path.read_text())
        return LandedSample(
            raw_dir, run_id, tuple(kpi_ids), years, info["observations"], info["pages"]
        )
    if store.manifest(run_id):
        (store.runs_dir / f"{run_id}.jsonl").unlink()
    fake = FakeKolada(**sample_kolada())
    pages = rows = 0
    for query in plan_data_queries(kpi_ids, years):
        target: str | None = f"/v3{query.path}?per_page=5000"
        while target:
            status, _, body = fake.handle("GET", target)
            if status != 200:
                raise RuntimeError(f"the fake Kolada answered {status} to {target}")
            store.land(
                _response(SYNTHETIC_BASE.removesuffix("/v3") + target, body),
                run_id=run_id,
                source="kolada",
                kind="data",
            )
            pages += 1
            rows += sum(len(record["values"]) for record in json.loads(body)["values"])
            next_url = json.loads(body)["next_url"]
            target = urljoin(target, next_url) if next_url else None
    store.mark_completed(run_id)
    info_path.write_text(
        json.dumps(
            {
                "note": "SYNTHETIC sample values from fakes.sample_data, not statistics",
                "observations": rows,
                "pages": pages,
                "kpis": kpi_ids,
                "years": list(years),
            }
        )
    )
    return LandedSample(raw_dir, run_id, tuple(kpi_ids), years, rows, pages)


def _response(url: str, body: bytes) -> Any:
    return Response(
        method="GET", url=url, status=200, body=body, headers={}, fetched_at=datetime.now(UTC)
    )
