"""The municipality's own measurements in a refresh: files beside the plan, landed and parsed.

A bad file (unreadable, a bad cell, an unknown area) is bad input: ``OwnFileError``
names file, row, column and value, and the run writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from sources.base import AnswerCollector, FetchContext, SourceAnswers
from sources.own.client import read_file
from sources.own.planning import plan_files
from transforms.catalogue import Catalogue
from transforms.goal_plan import GoalPlan
from transforms.own import own_file_to_observations

NAME = "own"
FILE_KIND = "own_file"


class OwnFileSource:
    """CSV or Excel files of the municipality's own measurements."""

    name = NAME
    every_year = True

    def series_ids(self, plan: GoalPlan) -> list[str]:
        return [series_id for series_id, spec in plan.series.items() if spec.file is not None]

    def endpoint(self, context: FetchContext) -> str | None:
        return None

    def check(self, plan: GoalPlan, context: FetchContext) -> dict[str, str]:
        """Read and parse every file: a bad one raises OwnFileError naming the cell."""
        for _ in self.observations(plan, self.fetch(plan, context), context.catalogue):
            pass  # reading every file is the check: a bad cell raises
        return {}

    def fetch(self, plan: GoalPlan, context: FetchContext) -> SourceAnswers:
        collector = AnswerCollector(context.store, context.run_id, self.name)
        for own in plan_files(plan, context.plan_dir):
            collector(read_file(own.path, {"kind": FILE_KIND, "series_id": own.series_id}))
        return collector.result({})

    def observations(
        self, plan: GoalPlan, answers: SourceAnswers, catalogue: Catalogue
    ) -> Iterator[pl.DataFrame]:
        by_series = {answer.tag["series_id"]: answer for answer in answers.ok(FILE_KIND)}
        frames = (
            own_file_to_observations(
                by_series[series_id].body,
                file_name=str(plan.series[series_id].file),
                series_id=series_id,
                municipalities=catalogue.municipalities,
                response_hash=by_series[series_id].content_hash,
            )
            for series_id in self.series_ids(plan)
            if series_id in by_series
        )
        yield from frames
