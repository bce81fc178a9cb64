"""Kolada in a refresh: the catalogue, and the data pages that cover a plan's KPIs.

Every answer is landed as it arrives (``AnswerCollector``); the observations and the
catalogue are read from the landed answers, so a rebuild parses exactly what a run did.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import polars as pl

from sources.base import AnswerCollector, FetchContext, FetchState, SourceAnswers
from sources.http import Response
from sources.kolada import settings
from sources.kolada.client import KoladaClient, kolada_http_client
from sources.kolada.planning import DataQuery, plan_incremental_queries
from sources.landing import RawStore
from transforms.catalogue import Catalogue
from transforms.goal_plan import GoalPlan, plan_kpi_ids
from transforms.kolada import kolada_catalogue, kolada_page_observations

NAME = "kolada"
CATALOGUE_KINDS = ("kpi", "municipality", "municipality_groups")
DATA_KIND = "data"


class KoladaSource:
    """Kolada KPIs: one all-area query per ≤ 25 KPIs × ≤ 25 years."""

    name = NAME
    every_year = False

    def series_ids(self, plan: GoalPlan) -> list[str]:
        return plan_kpi_ids(plan)

    def endpoint(self, context: FetchContext) -> str | None:
        return catalogue_endpoint(context.base_url(self.name))

    def check(self, plan: GoalPlan, context: FetchContext) -> dict[str, str]:
        # Kolada's ids are checked against its catalogue (transforms.goal_plan.validation).
        return {}

    def fetch(self, plan: GoalPlan, context: FetchContext) -> SourceAnswers:
        """Every data page, landed, read once and (with a stage) staged as it arrives.

        A KPI and year fetched by an earlier successful refresh is asked only for what
        changed since (``from_date``, less a few days' overlap); the rest in full.
        """
        collector = AnswerCollector(context.store, context.run_id, self.name)
        client = _client(context.base_url(self.name), collector)
        staged: set[str] = set()
        kpi_ids = self.series_ids(plan)
        queries = data_queries(kpi_ids, context.years, context.state)
        for page in client.fetch_queries(queries, read=_read_page):
            if context.stage is not None:
                context.stage.write(page.content)
                staged.add(page.content_hash)
        answers = collector.result({})
        answers.staged = staged
        answers.fetched = {(kpi, year): None for kpi in kpi_ids for year in context.years}
        return answers

    def observations(
        self, plan: GoalPlan, answers: SourceAnswers, catalogue: Catalogue
    ) -> Iterator[pl.DataFrame]:
        """Each data page not staged by the fetch, read from the landing one at a time."""
        for answer in answers.ok(DATA_KIND):
            if answer.content_hash not in answers.staged:
                yield kolada_page_observations(answer.body, answer.content_hash).observations


def data_queries(kpi_ids: list[str], years: Sequence[int], state: FetchState) -> list[DataQuery]:
    """The data queries of a refresh: incremental where an earlier refresh fetched."""
    overlap = timedelta(days=settings.FROM_DATE_OVERLAP_DAYS)

    def since(kpi: str, year: int) -> date | None:
        fetched = state.get(NAME, kpi, year)
        return (fetched.fetched_at - overlap).date() if fetched else None

    return plan_incremental_queries(kpi_ids, years, since) if kpi_ids else []


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


def _read_page(response: Response) -> tuple[pl.DataFrame, str | None, int]:
    page = kolada_page_observations(response.body, response.content_hash)
    return page.observations, page.next_url, page.records


def _client(base_url: str | None, collector: AnswerCollector) -> KoladaClient:
    return KoladaClient(base_url, http=kolada_http_client(on_response=collector))
