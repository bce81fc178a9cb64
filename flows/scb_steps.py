"""The SCB part of a refresh, as plain functions: check a plan's SCB series against the
tables' metadata, fetch their segments, and turn the answers into observations.

A table or code that SCB no longer has makes the series (and everything derived from
it) *unavailable* with SCB's own reason; the rest of the plan runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from sources.http import HttpClient, Response
from sources.landing import RawStore
from sources.scb.client import ScbApiError, ScbClient, ScbSelectionError
from transforms.derived import YearRange, plan_series_observations, series_depending_on
from transforms.goal_plan import GoalPlan, ScbSegment
from transforms.scb import jsonstat2_to_frame, jsonstat2_updated, measuring_type
from transforms.scb import scb_frame_to_observations as frame_to_observations
from transforms.schema import empty_observations

SCB = "scb"
REGION_VAR = "Region"
TIME_VAR = "Tid"
CONTENT_VAR = "ContentsCode"


@dataclass(frozen=True)
class PlannedSegment:
    """One segment of one SCB series, as the plan declares it."""

    series_id: str
    position: int
    segment: ScbSegment

    @property
    def years(self) -> YearRange:
        return (self.segment.from_year, self.segment.to_year)


@dataclass
class ScbFetched:
    """SCB answers of one run, by series, and the series that could not be had."""

    answers: dict[str, list[tuple[PlannedSegment, list[Response]]]] = field(default_factory=dict)
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)


def scb_kind(url: str) -> str:
    """The raw-landing kind of an SCB URL: config, tables, metadata, codelist or data."""
    path = url.split("?", 1)[0]
    if path.endswith("/config"):
        return "scb_config"
    if path.endswith("/metadata"):
        return "scb_metadata"
    if path.endswith("/data"):
        return "scb_data"
    if "/codelists/" in path or "/codeLists/" in path:
        return "scb_codelist"
    return "scb_tables"


def scb_client(base_url: str | None, store: RawStore | None, run_id: str) -> ScbClient:
    """An SCB client whose every answer is landed; it throttles with SCB's shared limiter."""
    recorder = store.recorder(run_id, SCB, kind_of=scb_kind) if store is not None else None
    return ScbClient(base_url, http=HttpClient(on_response=recorder))


def planned_segments(plan: GoalPlan) -> list[PlannedSegment]:
    """Every SCB segment the plan declares, in plan order."""
    return [
        PlannedSegment(series_id, position, segment)
        for series_id, spec in plan.series.items()
        for position, segment in enumerate(spec.scb or [])
    ]


def segment_selection(
    planned: PlannedSegment, metadata: Mapping[str, Any], years: Sequence[int]
) -> dict[str, Any] | None:
    """All areas, the segment's content and fixed codes, the wanted years the table has.

    None when the table has none of the years in the segment's span.
    """
    segment = planned.segment
    table_years = set(
        metadata.get("dimension", {}).get(TIME_VAR, {}).get("category", {}).get("index", {})
    )
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
        REGION_VAR: ["*"],
        CONTENT_VAR: [segment.content],
        TIME_VAR: wanted,
    }


def _reason(exc: Exception, planned: PlannedSegment) -> str:
    if isinstance(exc, ScbApiError):
        return f"SCB: {exc} (series {planned.series_id})"
    return f"SCB: {exc} (series {planned.series_id}, table {planned.segment.table})"


def check_scb_series(client: ScbClient, plan: GoalPlan) -> ScbFetched:
    """Read every table's metadata and check each segment's content and codes against it.

    Runs before any data is fetched. Only what SCB itself lacks makes a series
    unavailable here; a malformed plan was refused earlier, when it was parsed.
    """
    fetched = ScbFetched()
    for planned in planned_segments(plan):
        if planned.series_id in fetched.unavailable:
            continue
        table = planned.segment.table
        try:
            metadata = client.table_metadata(table)
            fetched.metadata[table] = metadata
            everything = {
                **planned.segment.select,
                REGION_VAR: ["*"],
                CONTENT_VAR: [planned.segment.content],
                TIME_VAR: ["*"],
            }
            client.resolve(table, everything)
        except (ScbApiError, ScbSelectionError) as exc:
            fetched.unavailable[planned.series_id] = _reason(exc, planned)
    for series_id in series_depending_on(plan, set(fetched.unavailable)) - set(fetched.unavailable):
        fetched.unavailable[series_id] = "computed from an unavailable series"
    return fetched


def fetch_scb_series(
    client: ScbClient, plan: GoalPlan, years: Sequence[int], fetched: ScbFetched
) -> ScbFetched:
    """Fetch every available segment's data (checked metadata first: `check_scb_series`)."""
    for planned in planned_segments(plan):
        if planned.series_id in fetched.unavailable:
            continue
        metadata = fetched.metadata[planned.segment.table]
        selection = segment_selection(planned, metadata, years)
        if selection is None:
            responses: list[Response] = []
        else:
            try:
                responses = client.fetch_table(planned.segment.table, selection)
            except ScbApiError as exc:
                if exc.status is not None and exc.status >= 500:
                    raise
                fetched.unavailable[planned.series_id] = _reason(exc, planned)
                continue
        fetched.answers.setdefault(planned.series_id, []).append((planned, responses))
    for series_id in series_depending_on(plan, set(fetched.unavailable)) - set(fetched.unavailable):
        fetched.unavailable[series_id] = "computed from an unavailable series"
    return fetched


def segment_observations(
    planned: PlannedSegment, responses: Iterable[Response], metadata: Mapping[str, Any]
) -> pl.DataFrame:
    """One segment's answers as observations of its series."""
    kind = measuring_type(metadata, planned.segment.content)
    frames = []
    for response in responses:
        body = json.loads(response.body)
        frame = jsonstat2_to_frame(body)
        if frame.is_empty():
            continue
        frames.append(
            frame_to_observations(
                frame,
                series_id=planned.series_id,
                table_id=planned.segment.table,
                updated=jsonstat2_updated(body)
                or jsonstat2_updated(metadata)
                or "1970-01-01T00:00:00Z",
                measuring_type="Stock" if kind == "Stock" else "Flow",
                response_hash=response.content_hash,
            )
        )
    return pl.concat(frames) if frames else empty_observations()


def scb_observations(plan: GoalPlan, fetched: ScbFetched) -> pl.DataFrame:
    """Every available SCB and derived series of the plan, stitched and computed."""
    segments = {
        series_id: [
            (
                planned.years,
                segment_observations(planned, responses, fetched.metadata[planned.segment.table]),
            )
            for planned, responses in answers
        ]
        for series_id, answers in fetched.answers.items()
    }
    return plan_series_observations(plan, segments, fetched.unavailable)


def unavailable_warnings(plan: GoalPlan, unavailable: Mapping[str, str]) -> list[str]:
    """One line per indicator that cannot be shown, with SCB's reason."""
    return [
        f"{placed.indicator.indicator_id}: unavailable — {unavailable[placed.indicator.series_id]}"
        for placed in plan.indicators()
        if placed.indicator.series_id in unavailable
    ]


def landed_scb_answers(
    plan: GoalPlan, landed: Iterable[tuple[Mapping[str, Any], bytes]]
) -> ScbFetched:
    """A run's SCB answers read back from the raw landing, matched to the plan's segments.

    A data answer belongs to the segment whose table, content and fixed codes its request
    body selected. A series with a segment that has no landed answer is unavailable.
    """
    fetched = ScbFetched()
    data: list[tuple[str, dict[str, list[str]], Response]] = []
    for row, body in landed:
        if row["status"] >= 400:
            continue
        table = _table_of_url(row["url"])
        if row["kind"] == "scb_metadata" and table:
            fetched.metadata[table] = json.loads(body)
        elif row["kind"] == "scb_data" and table and row.get("request_body"):
            selection = {
                item["variableCode"]: list(item["valueCodes"])
                for item in json.loads(row["request_body"])["selection"]
            }
            data.append((table, selection, _landed_response(row, body)))
    for planned in planned_segments(plan):
        segment = planned.segment
        wanted = {CONTENT_VAR: [segment.content], **{k: [v] for k, v in segment.select.items()}}
        responses = [
            response
            for table, selection, response in data
            if table == segment.table
            and all(selection.get(var) == codes for var, codes in wanted.items())
        ]
        if segment.table not in fetched.metadata:
            fetched.unavailable.setdefault(planned.series_id, "no SCB answer in the landed run")
            continue
        fetched.answers.setdefault(planned.series_id, []).append((planned, responses))
    for series_id in series_depending_on(plan, set(fetched.unavailable)) - set(fetched.unavailable):
        fetched.unavailable[series_id] = "computed from an unavailable series"
    return fetched


def _table_of_url(url: str) -> str | None:
    parts = url.split("?", 1)[0].rstrip("/").split("/")
    return parts[parts.index("tables") + 1] if "tables" in parts[:-1] else None


def _landed_response(row: Mapping[str, Any], body: bytes) -> Response:
    return Response(
        method=row["method"],
        url=row["url"],
        status=row["status"],
        body=body,
        headers={},
        fetched_at=datetime.fromisoformat(row["fetched_at"]),
    )
