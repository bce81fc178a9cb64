"""The one small interface through which every source takes part in a refresh.

A refresh asks each registered source (``sources/registry.py``):

1. ``series_ids(plan)``: which of the plan's series it provides (none: it sits out);
2. ``fetch(plan, context)``: fetch and land what covers them, and say which series it
   could not provide and why; the answers come back as landed (manifest row + body);
3. ``observations(plan, answers, catalogue)``: landed answers → tidy observations, in
   chunks. A source whose answers are independent pages (Kolada) stages each page's
   observations as it arrives instead (``FetchContext.stage``), so a run holds neither
   all bodies nor all rows in memory.

Before a run, ``endpoint(context)`` names the address it will ask (probed, so an
unreachable host fails in a second), and ``malbild check`` asks ``check(plan, context)``
what the source cannot provide, without fetching data.

``malbild rebuild`` reads the same answers back from the raw landing
(``answers_from_landing``) and calls step 3 alone, so a run and its replay share every
line of parsing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from sources.http import Response
from sources.landing import RawStore, split_label
from sources.staging import Stage
from transforms.catalogue import Catalogue
from transforms.goal_plan import GoalPlan

# The manifest kind of the note that records a source's unavailable series.
UNAVAILABLE_KIND = "unavailable"


@dataclass(frozen=True)
class LandedAnswer:
    """One landed answer: its manifest line, and its body or the store that keeps it.

    A body kept in the store is read back when asked for and not held: a run's answers
    then cost their manifest lines, not their bytes.
    """

    row: Mapping[str, Any]
    kept: bytes | None = None
    store: RawStore | None = None

    @property
    def body(self) -> bytes:
        if self.kept is not None:
            return self.kept
        if self.store is None:
            raise ValueError(f"answer {self.content_hash} has neither a body nor a store")
        return self.store.read_body(self.content_hash)

    @property
    def kind(self) -> str:
        return str(self.row["kind"])

    @property
    def tag(self) -> Mapping[str, Any]:
        return self.row.get("tag") or {}

    @property
    def ok(self) -> bool:
        return int(self.row["status"]) < 400

    @property
    def content_hash(self) -> str:
        return str(self.row["content_hash"])


@dataclass
class SourceAnswers:
    """What one source fetched for a plan (or a rebuild read back), before any parsing."""

    source: str
    answers: list[LandedAnswer] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    # Answers whose observations the fetch already staged (their content hashes).
    staged: set[str] = field(default_factory=set)
    # What the fetch brought up to date, per (series_id, year), with the source's stamp
    # of it (SCB: its tables' `updated`): the next refresh asks only for what changed.
    fetched: dict[tuple[str, int], str | None] = field(default_factory=dict)

    def ok(self, kind: str) -> list[LandedAnswer]:
        """The successful answers of one kind, in the order landed."""
        return [answer for answer in self.answers if answer.kind == kind and answer.ok]


@dataclass(frozen=True)
class Fetched:
    """What an earlier successful refresh fetched of one series and year."""

    fetched_at: datetime
    stamp: str | None = None


@dataclass(frozen=True)
class FetchState:
    """What earlier successful refreshes fetched, per (source, series_id, year): empty
    for a first or a full refresh (everything is fetched)."""

    entries: Mapping[tuple[str, str, int], Fetched] = field(default_factory=dict)

    def get(self, source: str, series_id: str, year: int) -> Fetched | None:
        return self.entries.get((source, series_id, year))


@dataclass(frozen=True)
class FetchContext:
    """What a source needs to fetch for one run."""

    run_id: str
    store: RawStore | None  # None: nothing is landed (malbild check)
    years: Sequence[int]
    catalogue: Catalogue
    plan_dir: Path
    # Base URL per source name; None or absent: the source's setting (environment, default).
    base_urls: Mapping[str, str | None] = field(default_factory=dict)
    # Where a source may stage observations while it fetches (None: it does not).
    stage: Stage | None = None
    # What earlier refreshes fetched (empty: fetch everything).
    state: FetchState = field(default_factory=FetchState)

    def base_url(self, source: str) -> str | None:
        return self.base_urls.get(source)


class Source(Protocol):
    """A source of observations: Kolada, SCB, the municipality's own files, …"""

    name: str
    # True when its answers hold every year the source has, not the years asked (a
    # municipality's own file): its rows are not held to the run's years.
    every_year: bool

    def series_ids(self, plan: GoalPlan) -> list[str]:
        """The plan's series this source provides, in plan order."""
        ...

    def endpoint(self, context: FetchContext) -> str | None:
        """The base URL the source will ask; None for one that reads local files."""
        ...

    def check(self, plan: GoalPlan, context: FetchContext) -> dict[str, str]:
        """The plan's series this source cannot provide, and why, without fetching data."""
        ...

    def fetch(self, plan: GoalPlan, context: FetchContext) -> SourceAnswers:
        """Fetch and land everything the plan needs of this source."""
        ...

    def observations(
        self, plan: GoalPlan, answers: SourceAnswers, catalogue: Catalogue
    ) -> Iterator[pl.DataFrame]:
        """Landed answers as observations (``OBSERVATION_SCHEMA``), in chunks; answers in
        ``answers.staged`` were staged by the fetch and are skipped."""
        ...


class AnswerCollector:
    """Collects a source's landed answers as its client lands them (``HttpClient.on_response``)."""

    def __init__(self, store: RawStore | None, run_id: str, source: str):
        self.store, self.run_id, self.source = store, run_id, source
        self.answers: list[LandedAnswer] = []
        self._lock = threading.Lock()

    def __call__(self, response: Response) -> None:
        if self.store is None:
            answer = LandedAnswer(labelled_row(response, self.source), kept=response.body)
        else:
            row = self.store.land_labelled(response, run_id=self.run_id, source=self.source)
            answer = LandedAnswer(row, store=self.store)
        with self._lock:
            self.answers.append(answer)

    def result(self, unavailable: Mapping[str, str]) -> SourceAnswers:
        """The collected answers, with the unavailable series landed as a note."""
        if self.store is not None:
            land_unavailable(self.store, self.run_id, self.source, unavailable)
        return SourceAnswers(self.source, list(self.answers), dict(unavailable))


def labelled_row(response: Response, source: str) -> dict[str, Any]:
    """The manifest line an answer would be landed with (for answers not landed)."""
    kind, tag = split_label(response.label)
    return {
        "source": source,
        "kind": kind,
        "url": response.url,
        "status": response.status,
        "content_hash": response.content_hash,
        "tag": tag,
    }


def land_unavailable(
    store: RawStore, run_id: str, source: str, unavailable: Mapping[str, str]
) -> None:
    """Keep the source's verdicts with its answers, so a rebuild repeats them."""
    if not unavailable:
        return
    body = json.dumps(dict(unavailable), ensure_ascii=False, sort_keys=True).encode("utf-8")
    note = Response(
        method="NOTE",
        url=f"malbild:{source}/{UNAVAILABLE_KIND}",
        status=200,
        body=body,
        headers={},
        fetched_at=datetime.now(UTC),
    )
    store.land(note, run_id=run_id, source=source, kind=UNAVAILABLE_KIND)


def answers_from_landing(
    store: RawStore, rows: Iterable[Mapping[str, Any]], source: str
) -> SourceAnswers:
    """One source's answers of a landed run, as its fetch returned them."""
    answers = SourceAnswers(source)
    for row in rows:
        if row["source"] != source:
            continue
        if row["kind"] == UNAVAILABLE_KIND:
            answers.unavailable.update(json.loads(store.read_body(row["content_hash"])))
        else:
            answers.answers.append(LandedAnswer(row, store=store))
    return answers
