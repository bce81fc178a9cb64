"""Which requests an incremental refresh makes (pure planning, no I/O)."""

from datetime import UTC, date, datetime

from sources.base import Fetched, FetchState
from sources.kolada.planning import DataQuery, plan_data_queries, plan_incremental_queries
from sources.kolada.series import data_queries
from sources.scb.series import unchanged
from tests.catalogue_fixture import fixture_catalogue

YEARS = list(range(2000, 2025))
DAY = date(2026, 11, 1)


def test_a_refresh_of_the_same_plan_asks_the_same_queries_each_with_its_date() -> None:
    kpis = [f"N{n:05d}" for n in range(30)]
    full = plan_data_queries(kpis, YEARS)

    incremental = plan_incremental_queries(kpis, YEARS, lambda kpi, year: DAY)

    assert [(q.kpi_ids, q.years) for q in incremental] == [(q.kpi_ids, q.years) for q in full]
    assert {q.from_date for q in incremental} == {DAY}
    assert incremental[0].params == {"from_date": "2026-11-01"}
    assert full[0].params == {}


def test_a_new_kpi_and_a_new_year_are_asked_in_full_in_queries_of_their_own() -> None:
    known = {"N1", "N2"}

    def since(kpi: str, year: int) -> date | None:
        return DAY if kpi in known and year < 2025 else None

    queries = plan_incremental_queries(["N1", "N2", "N3"], [2023, 2024, 2025], since)

    assert queries == [
        DataQuery(("N1", "N2"), (2025,), None),
        DataQuery(("N3",), (2023, 2024, 2025), None),
        DataQuery(("N1", "N2"), (2023, 2024), DAY),
    ]


def test_kolada_asks_from_the_last_fetch_less_the_overlap() -> None:
    fetched = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    state = FetchState({("kolada", "N1", 2024): Fetched(fetched)})

    queries = data_queries(["N1"], [2024, 2025], state)

    assert queries == [
        DataQuery(("N1",), (2025,), None),
        DataQuery(("N1",), (2024,), date(2026, 11, 17)),
    ]
    assert data_queries(["N1"], [2024], FetchState()) == [DataQuery(("N1",), (2024,), None)]


def test_an_scb_series_is_skipped_only_while_every_year_has_the_same_stamps(tmp_path) -> None:
    from sources.base import FetchContext

    stamp = "TAB638=2025-03-20T07:00:00+00:00"
    at = datetime(2026, 11, 20, tzinfo=UTC)
    state = FetchState({("scb", "scb:pop", y): Fetched(at, stamp) for y in (2023, 2024)})

    def context(years: list[int]) -> FetchContext:
        return FetchContext("run", None, years, fixture_catalogue(), tmp_path, state=state)

    assert unchanged("scb:pop", stamp, context([2023, 2024]))
    assert not unchanged("scb:pop", stamp, context([2023, 2024, 2025]))  # a new year
    assert not unchanged("scb:pop", "TAB638=2026-03-20T07:00:00+00:00", context([2024]))
    assert not unchanged("scb:other", stamp, context([2024]))
    assert not unchanged("scb:pop", "TAB638=?", context([2024]))  # no stamp: always fetched


def test_an_edited_scb_segment_changes_the_series_stamp() -> None:
    from sources.scb.series import PlannedSegment, series_stamps
    from transforms.goal_plan import ScbSegment

    metadata = {"updated": "2025-03-20T07:00:00Z"}

    def stamp(content: str) -> str:
        planned = PlannedSegment("scb:pop", 0, ScbSegment(table="TAB638", content=content))
        return series_stamps([(planned, None, metadata)])["scb:pop"]  # type: ignore[list-item]

    assert stamp("BE0101N1").startswith("TAB638=2025-03-20T07:00:00+00:00#")
    assert stamp("BE0101N1") == stamp("BE0101N1")
    assert stamp("BE0101N1") != stamp("BE0101N2")
