"""SCB in a refresh: check each plan series against its tables' metadata, fetch its
segments, and turn the landed answers into stitched observations.

A table or code that SCB no longer has makes the series *unavailable* with SCB's own
reason; the rest of the plan runs. The region, time, content and sex variables of a
table come from its metadata (``transforms.scb.table_roles``), so a table with other
variable names needs only a plan entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from sources.base import AnswerCollector, FetchContext, LandedAnswer, SourceAnswers
from sources.http import HttpClient
from sources.scb import settings
from sources.scb.client import ScbApiError, ScbClient
from sources.scb.planning import ScbSelectionError
from transforms.catalogue import Catalogue
from transforms.derived import stitch_segments
from transforms.goal_plan import GoalPlan, ScbSegment
from transforms.scb import (
    TableRoles,
    jsonstat2_to_frame,
    jsonstat2_updated,
    jsonstat_codes,
    measuring_type,
    scb_frame_to_observations,
    table_roles,
)
from transforms.schema import empty_observations

NAME = "scb"
METADATA_KIND = "scb_metadata"
DATA_KIND = "scb_data"


@dataclass(frozen=True)
class PlannedSegment:
    """One segment of one SCB series, as the plan declares it."""

    series_id: str
    position: int
    segment: ScbSegment

    @property
    def years(self) -> tuple[int | None, int | None]:
        return (self.segment.from_year, self.segment.to_year)

    @property
    def tag(self) -> dict[str, Any]:
        """What each data call for this segment is landed with."""
        return {"series_id": self.series_id, "segment": self.position}


def planned_segments(plan: GoalPlan) -> list[PlannedSegment]:
    """Every SCB segment the plan declares, in plan order."""
    return [
        PlannedSegment(series_id, position, segment)
        for series_id, spec in plan.series.items()
        for position, segment in enumerate(spec.scb or [])
    ]


def segment_selection(
    planned: PlannedSegment,
    roles: TableRoles,
    metadata: Mapping[str, Any],
    years: Sequence[int] | None,
) -> dict[str, Any] | None:
    """All areas, the segment's content and fixed codes, and the wanted years the table has.

    ``years`` None asks for every year (the check before fetching). None when the
    table has none of the years in the segment's span.
    """
    segment = planned.segment
    if years is None:
        wanted = ["*"]
    else:
        table_years = set(jsonstat_codes(metadata["dimension"][roles.time]))
        wanted = [
            str(year)
            for year in years
            if (segment.from_year is None or year >= segment.from_year)
            and (segment.to_year is None or year <= segment.to_year)
            and str(year) in table_years
        ]
        if not wanted:
            return None
    return {
        **segment.select,
        roles.region: ["*"],
        roles.content: [segment.content],
        roles.time: wanted,
    }


class ScbSource:
    """SCB tables through PxWebApi 2.0, each plan series in one or more segments."""

    name = NAME
    every_year = False

    def series_ids(self, plan: GoalPlan) -> list[str]:
        return [series_id for series_id, spec in plan.series.items() if spec.scb is not None]

    def endpoint(self, context: FetchContext) -> str | None:
        return context.base_url(self.name) or settings.base_url()

    def check(self, plan: GoalPlan, context: FetchContext) -> dict[str, str]:
        """Every segment's table, content and codes against the table's metadata."""
        collector = AnswerCollector(None, context.run_id, self.name)
        _, unavailable = _checked_segments(plan, self._client(context, collector))
        return unavailable

    def fetch(self, plan: GoalPlan, context: FetchContext) -> SourceAnswers:
        """Check every segment against its table first, then fetch the available ones.

        A series whose tables' ``updated`` stamps are those of the last successful fetch
        of its years is not fetched again: the metadata call that checks it is all.
        """
        collector = AnswerCollector(context.store, context.run_id, self.name)
        if not self.series_ids(plan):
            return collector.result({})
        client = self._client(context, collector)
        checked, unavailable = _checked_segments(plan, client)
        stamps = series_stamps(checked)
        for planned, roles, metadata in checked:
            if planned.series_id in unavailable or unchanged(
                planned.series_id, stamps[planned.series_id], context
            ):
                continue
            selection = segment_selection(planned, roles, metadata, context.years)
            if selection is None:
                continue
            try:
                client.fetch_table(planned.segment.table, selection, tag=planned.tag)
            except ScbApiError as exc:
                if exc.status is not None and exc.status >= 500:
                    raise
                unavailable[planned.series_id] = _reason(exc, planned)
        answers = collector.result(unavailable)
        answers.fetched = {
            (series_id, year): stamp
            for series_id, stamp in stamps.items()
            if series_id not in unavailable
            for year in context.years
        }
        return answers

    def _client(self, context: FetchContext, collector: AnswerCollector) -> ScbClient:
        return ScbClient(context.base_url(self.name), http=HttpClient(on_response=collector))

    def observations(
        self, plan: GoalPlan, answers: SourceAnswers, catalogue: Catalogue
    ) -> Iterator[pl.DataFrame]:
        """Each available series' segments parsed and stitched (a later segment wins)."""
        # Answers landed before requests carried tags have none: their series are skipped.
        metadata = {
            answer.tag["table"]: json.loads(answer.body)
            for answer in answers.ok(METADATA_KIND)
            if "table" in answer.tag
        }
        data: dict[tuple[str, int], list[LandedAnswer]] = {}
        for answer in answers.ok(DATA_KIND):
            if "series_id" in answer.tag:
                key = (str(answer.tag["series_id"]), int(answer.tag["segment"]))
                data.setdefault(key, []).append(answer)
        frames = []
        for series_id in self.series_ids(plan):
            tables = {
                planned.segment.table
                for planned in planned_segments(plan)
                if planned.series_id == series_id
            }
            if series_id in answers.unavailable or not tables <= set(metadata):
                continue
            segments = [
                (
                    planned.years,
                    _segment_observations(
                        planned,
                        data.get((series_id, planned.position), []),
                        metadata[planned.segment.table],
                    ),
                )
                for planned in planned_segments(plan)
                if planned.series_id == series_id
            ]
            frames.append(stitch_segments(segments))
        yield from frames


def series_stamps(
    checked: Sequence[tuple[PlannedSegment, TableRoles, Mapping[str, Any]]],
) -> dict[str, str]:
    """Per series, its tables' ``updated`` stamps and a digest of its segments as the plan
    declares them (``TAB638=2025-…;TAB5557=…#1a2b3c4d``): a new table version or an
    edited segment (another content code or selection) makes the series fetched again."""
    tables: dict[str, dict[str, str]] = {}
    segments: dict[str, list[str]] = {}
    for planned, _, metadata in checked:
        stamp = jsonstat2_updated(metadata)
        tables.setdefault(planned.series_id, {})[planned.segment.table] = (
            stamp.isoformat() if stamp else "?"
        )
        segments.setdefault(planned.series_id, []).append(planned.segment.model_dump_json())
    return {
        sid: ";".join(f"{t}={u}" for t, u in sorted(found.items()))
        + "#"
        + hashlib.sha256("\n".join(segments[sid]).encode()).hexdigest()[:8]
        for sid, found in tables.items()
    }


def unchanged(series_id: str, stamp: str, context: FetchContext) -> bool:
    """Whether every year of the run was fetched before from tables with these stamps."""
    if "?" in stamp:
        return False  # a table that does not say when it changed is always fetched
    return all(
        (fetched := context.state.get(NAME, series_id, year)) is not None and fetched.stamp == stamp
        for year in context.years
    )


def _checked_segments(
    plan: GoalPlan, client: ScbClient
) -> tuple[list[tuple[PlannedSegment, TableRoles, dict[str, Any]]], dict[str, str]]:
    """The segments whose table has their content and codes, with the table's roles and
    metadata; and the series SCB cannot provide, with SCB's reason."""
    unavailable: dict[str, str] = {}
    checked: list[tuple[PlannedSegment, TableRoles, dict[str, Any]]] = []
    for planned in planned_segments(plan):
        if planned.series_id in unavailable:
            continue
        try:
            metadata = client.table_metadata(planned.segment.table)
            roles = _roles(planned, metadata)
            everything = segment_selection(planned, roles, metadata, None)
            assert everything is not None  # None only when years are given
            client.resolve(planned.segment.table, everything)
        except (ScbApiError, ScbSelectionError) as exc:
            unavailable[planned.series_id] = _reason(exc, planned)
            continue
        checked.append((planned, roles, metadata))
    return checked, unavailable


def _roles(planned: PlannedSegment, metadata: Mapping[str, Any]) -> TableRoles:
    try:
        overrides = {str(role): name for role, name in (planned.segment.variables or {}).items()}
        return table_roles(metadata, overrides)
    except ValueError as exc:
        raise ScbSelectionError(str(exc)) from exc


def _segment_observations(
    planned: PlannedSegment, answers: Sequence[LandedAnswer], metadata: Mapping[str, Any]
) -> pl.DataFrame:
    """One segment's answers as observations of its series."""
    roles = _roles(planned, metadata)
    kind = measuring_type(metadata, planned.segment.content)
    frames = []
    for answer in answers:
        body = json.loads(answer.body)
        frame = jsonstat2_to_frame(body)
        if frame.is_empty():
            continue
        frames.append(
            scb_frame_to_observations(
                frame,
                series_id=planned.series_id,
                table_id=planned.segment.table,
                # SCB stamps every answer; the metadata's stamp covers one that lacks it.
                updated=jsonstat2_updated(body) or jsonstat2_updated(metadata),
                region_var=roles.region,
                time_var=roles.time,
                sex_var=roles.sex,
                measuring_type="Stock" if kind == "Stock" else "Flow",
                response_hash=answer.content_hash,
            )
        )
    return pl.concat(frames) if frames else empty_observations()


def _reason(exc: Exception, planned: PlannedSegment) -> str:
    if isinstance(exc, ScbApiError):
        return f"SCB: {exc} (series {planned.series_id})"
    return f"SCB: {exc} (series {planned.series_id}, table {planned.segment.table})"
