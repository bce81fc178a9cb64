"""Kolada in a refresh: the catalogue, and the data pages that cover a plan's KPIs.

Every answer is landed as it arrives (``AnswerCollector``); the observations and the
catalogue are read from the landed answers, so a rebuild parses exactly what a run did.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import polars as pl

from sources.base import AnswerCollector, FetchContext, SourceAnswers
from sources.kolada import settings
from sources.kolada.client import KoladaClient, kolada_http_client
from sources.landing import RawStore
from transforms.catalogue import Catalogue
from transforms.goal_plan import GoalPlan, plan_kpi_ids
from transforms.kolada import kolada_catalogue, kolada_pages_to_observations

NAME = "kolada"
CATALOGUE_KINDS = ("kpi", "municipality", "municipality_groups")
DATA_KIND = "data"


class KoladaSource:
    """Kolada KPIs: one all-area query per ≤ 25 KPIs × ≤ 25 years."""

    name = NAME

    def series_ids(self, plan: GoalPlan) -> list[str]:
        return plan_kpi_ids(plan)

    def endpoint(self, context: FetchContext) -> str | None:
        return catalogue_endpoint(context.base_url(self.name))

    def check(self, plan: GoalPlan, context: FetchContext) -> dict[str, str]:
        # Kolada's ids are checked against its catalogue (transforms.goal_plan.validation).
        return {}

    def fetch(self, plan: GoalPlan, context: FetchContext) -> SourceAnswers:
        collector = AnswerCollector(context.store, context.run_id, self.name)
        client = _client(context.base_url(self.name), collector)
        kpi_ids = self.series_ids(plan)
        if kpi_ids:
            for _ in client.fetch_data(kpi_ids, context.years):
                pass  # each page is landed and collected as it arrives
        return collector.result({})

    def observations(
        self, plan: GoalPlan, answers: SourceAnswers, catalogue: Catalogue
    ) -> pl.DataFrame:
        pages = ((answer.content_hash, answer.body) for answer in answers.ok(DATA_KIND))
        return kolada_pages_to_observations(pages)


def fetch_catalogue(
    base_url: str | None, *, store: RawStore | None = None, run_id: str | None = None
) -> Catalogue:
    """Kolada's whole catalogue (KPIs, areas, groups); landed when a store is given."""
    if store is not None and run_id is not None:
        collector = AnswerCollector(store, run_id, NAME)
        client = _client(base_url, collector)
        client.kpis(), client.municipalities(), client.municipality_groups()
        found = catalogue_from_answers(collector.result({}))
        assert found is not None  # every kind was fetched, or the client raised
        return found
    client = KoladaClient(base_url)
    return kolada_catalogue(
        {
            "kpi": client.kpis(),
            "municipality": client.municipalities(),
            "municipality_groups": client.municipality_groups(),
        }
    )


def catalogue_endpoint(base_url: str | None) -> str:
    """The address the catalogue (and every Kolada request) goes to."""
    return base_url or settings.base_url()


def catalogue_from_answers(answers: SourceAnswers) -> Catalogue | None:
    """The catalogue in a run's landed answers; None when the run did not fetch it whole."""
    records: Mapping[str, list[dict[str, Any]]] = {
        kind: [
            record for answer in answers.ok(kind) for record in json.loads(answer.body)["values"]
        ]
        for kind in CATALOGUE_KINDS
    }
    if not all(records.values()):
        return None
    return kolada_catalogue(records)


def _client(base_url: str | None, collector: AnswerCollector) -> KoladaClient:
    return KoladaClient(base_url, http=kolada_http_client(on_response=collector))
