"""Test helpers for the HTTP and Kolada tests: a fake clock, a scripted transport, a tiny Kolada."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from requests.structures import CaseInsensitiveDict

from fakes.kolada_server import FakeKolada
from sources.http import HttpClient, RetryPolicy


@dataclass
class FakeClock:
    """Monotonic time that only moves when someone sleeps."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class FakeRawResponse:
    """What ``HttpClient`` reads from a ``requests.Response``."""

    status_code: int
    content: bytes
    url: str
    headers: CaseInsensitiveDict[str] = field(default_factory=CaseInsensitiveDict)
    request: Any = None


class ScriptedSession:
    """A stand-in for ``requests.Session`` answering from a script, one entry per request.

    An entry is an exception to raise or a ``(status, body, headers)`` tuple.
    """

    def __init__(self, script: Sequence[Any]):
        self.script = list(script)
        self.urls: list[str] = []

    def request(self, method: str, url: str, **kwargs: Any) -> FakeRawResponse:
        self.urls.append(url)
        if not self.script:
            raise AssertionError(f"unexpected request {method} {url}")
        entry = self.script.pop(0)
        if isinstance(entry, BaseException):
            raise entry
        status, body, headers = entry
        return FakeRawResponse(status, body, url, CaseInsensitiveDict(headers))


def answer(
    status: int = 200, body: bytes | str = b"{}", headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    return status, body.encode() if isinstance(body, str) else body, headers or {}


def kolada_page(
    values: list[dict[str, Any]], next_url: str | None = None
) -> tuple[int, bytes, dict]:
    """A 200 answer carrying one Kolada v3 page."""
    envelope = {"values": values, "count": len(values), "next_url": next_url, "previous_url": None}
    return answer(200, json.dumps(envelope), {"Content-Type": "application/json"})


def scripted_http(
    script: Sequence[Any], clock: FakeClock | None = None, **policy: Any
) -> HttpClient:
    """An ``HttpClient`` over a scripted session whose sleeps only advance ``clock``."""
    clock = clock or FakeClock()
    return HttpClient(
        session=ScriptedSession(script),
        policy=RetryPolicy(**policy),
        sleep=clock.sleep,
        clock=clock,
    )


def session_urls(http: HttpClient) -> list[str]:
    urls: list[str] = http.session.urls
    return urls


SMALL_KPIS = [
    {"id": "N00001", "title": "Invånare totalt, antal", "is_divided_by_gender": False},
    {"id": "N00002", "title": "Andel kvinnor, %", "is_divided_by_gender": True},
    {"id": "U00003", "title": "Nöjdhet med KOMMUNEN", "is_divided_by_gender": False},
]
SMALL_AREAS = [
    {"id": "0000", "title": "Riket", "type": "L"},
    {"id": "0001", "title": "Region Stockholm", "type": "L"},
    {"id": "0114", "title": "Upplands Väsby", "type": "K"},
    {"id": "0115", "title": "Vallentuna", "type": "K"},
    {"id": "0117", "title": "Österåker", "type": "K"},
]
SMALL_GROUPS = [
    {
        "id": "G1",
        "title": "Grannar (ovägt medel)",
        "members": [
            {"member_id": "0114", "member_title": "Upplands Väsby"},
            {"member_id": "0115", "member_title": "Vallentuna"},
            {"member_id": "0117", "member_title": "Österåker"},
        ],
    }
]


def small_values() -> dict[tuple[str, str, int], list[dict[str, Any]]]:
    """Values for N00001 in 2020-2021 (0117 null in 2021); nothing for the other KPIs."""
    values: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for year in (2020, 2021):
        for number, area in enumerate(("0000", "0001", "0114", "0115", "0117"), start=1):
            value = None if (area, year) == ("0117", 2021) else float(number * 10 + year - 2020)
            values["N00001", area, year] = [{"gender": "T", "value": value}]
    return values


def small_kolada(**options: Any) -> FakeKolada:
    """A fake Kolada with 3 KPIs, 5 areas, one group and a handful of values (not started)."""
    return FakeKolada(SMALL_KPIS, SMALL_AREAS, SMALL_GROUPS, small_values(), **options)
