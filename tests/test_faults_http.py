"""Faults in fetching (issue #11): data from another host, requests and paginations
without end, and SCB answers that are not JSON. Each runs against a server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from fakes.scb_server import FakeScbServer
from sources.http import (
    FetchError,
    FetchTimeoutError,
    HttpClient,
    RetryPolicy,
    SlidingWindowLimiter,
)
from sources.kolada.client import KoladaClient, KoladaResponseError
from sources.scb.client import ScbClient, ScbResponseError
from tests.kolada_fixtures import small_kolada

# -- a server that sends its body slowly ---------------------------------------------------


class SlowServer:
    """Answers every GET with ``body`` in ``pieces`` of bytes, sleeping ``pause`` before each.

    ``pause`` may be a function of the piece's number, for a body that stalls midway.
    """

    def __init__(self, body: bytes, *, piece: int = 1, pause: float | Callable[[int], float]):
        self.body = body
        self.piece = piece
        self.pause = pause if callable(pause) else (lambda _number: pause)
        self.requests = 0
        self._closing = threading.Event()
        slow = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                slow.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(slow.body)))
                self.end_headers()
                self.wfile.flush()
                for number, start in enumerate(range(0, len(slow.body), slow.piece)):
                    if slow._closing.wait(slow.pause(number)):
                        return
                    try:
                        self.wfile.write(slow.body[start : start + slow.piece])
                        self.wfile.flush()
                    except OSError:  # the client gave up
                        return

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v3/kpi"

    def __enter__(self) -> SlowServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def timed_get(http: HttpClient, url: str) -> tuple[pytest.ExceptionInfo[FetchError], float]:
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        http.get(url)
    return caught, time.monotonic() - started


# -- 2a: one request's total time is bounded, body download included -----------------------


def test_a_body_trickled_byte_by_byte_fails_within_the_attempt_bound_naming_the_url():
    # 100 bytes, one every 0.1 s: each read comes well within the read timeout.
    with SlowServer(b"x" * 100, pause=0.1) as server:
        http = HttpClient(policy=RetryPolicy(max_attempts=1, timeout=5, attempt_seconds=1.0))
        caught, took = timed_get(http, server.url)

    assert took < 2.5
    assert isinstance(caught.value, FetchTimeoutError)
    assert caught.value.url == server.url
    assert server.url in str(caught.value)
    assert "within 1 s" in str(caught.value)


def test_a_body_that_stalls_midway_fails_at_the_bound_not_after_the_read_timeout():
    # Half the body at once, then a 4 s silence: the read timeout (30 s) never fires.
    with SlowServer(b"y" * 100, piece=50, pause=lambda number: 4.0 if number else 0.0) as server:
        http = HttpClient(policy=RetryPolicy(max_attempts=1, timeout=30, attempt_seconds=1.0))
        caught, took = timed_get(http, server.url)

    assert took < 2.5
    assert isinstance(caught.value, FetchTimeoutError)
    assert server.url in str(caught.value)


def test_retries_of_a_trickling_server_end_within_the_total_bound_and_one_attempt():
    with SlowServer(b"z" * 100, pause=0.1) as server:
        policy = RetryPolicy(
            max_attempts=8, base_delay=0.01, attempt_seconds=1.0, max_total_seconds=1.5
        )
        http = HttpClient(policy=policy)
        caught, took = timed_get(http, server.url)

    assert took < 1.5 + 1.0 + 0.5
    assert http.requests_made >= 2
    assert isinstance(caught.value, FetchTimeoutError)
    assert "attempts" in str(caught.value)


def test_a_slow_but_timely_body_arrives_whole():
    body = json.dumps({"values": list(range(50))}).encode()
    with SlowServer(body, piece=len(body) // 5 + 1, pause=0.05) as server:
        http = HttpClient(policy=RetryPolicy(max_attempts=1, attempt_seconds=5.0))
        response = http.get(server.url)

    assert response.body == body
    assert server.requests == 1


# -- 1: Kolada follows next_url only under its base URL ------------------------------------


def kolada_page(next_url: str, values: list[dict[str, Any]] | None = None) -> str:
    envelope = {
        "values": values if values is not None else [{"id": "N00001"}],
        "count": 1,
        "next_url": next_url,
        "previous_url": None,
    }
    return json.dumps(envelope)


@pytest.fixture
def two_kolada() -> Iterator[tuple[Any, Any]]:
    """The configured Kolada and another server like it on another port."""
    with small_kolada() as kolada, small_kolada() as other:
        yield kolada, other


def fast_kolada(base_url: str, **options: Any) -> KoladaClient:
    policy = RetryPolicy(max_attempts=2, base_delay=0.01)
    return KoladaClient(base_url, http=HttpClient(policy=policy), **options)


def test_a_next_url_on_another_port_is_refused_and_never_fetched(two_kolada):
    kolada, other = two_kolada
    elsewhere = f"{other.base_url}/kpi?page=2&per_page=5000"
    kolada.inject("/kpi", body=kolada_page(elsewhere))

    with pytest.raises(KoladaResponseError) as caught:
        fast_kolada(kolada.base_url).kpis()

    assert elsewhere in str(caught.value)
    assert other.requests == []
    assert len(kolada.requests) == 1


@pytest.mark.parametrize(
    "next_url",
    [
        "http://evil.example/v3/kpi?page=2",
        "https://{host_port}/v3/kpi?page=2",
        "http://localhost:{port}/v3/kpi?page=2",
        "/v2/kpi?page=2",
        "/v3x/kpi?page=2",
        "/kpi?page=2",
        "//evil.example/v3/kpi?page=2",
    ],
    ids=["other-host", "other-scheme", "other-host-name", "other-version", "prefix-lookalike",
         "above-the-prefix", "scheme-relative"],
)  # fmt: skip
def test_a_next_url_outside_the_base_fails_the_fetch_naming_it(two_kolada, next_url):
    kolada, _ = two_kolada
    host_port = kolada.origin.removeprefix("http://")
    next_url = next_url.format(host_port=host_port, port=host_port.split(":")[1])
    kolada.inject("/municipality", body=kolada_page(next_url))

    with pytest.raises(KoladaResponseError, match="outside") as caught:
        fast_kolada(kolada.base_url).municipalities()

    assert isinstance(caught.value, FetchError)
    assert next_url.split("?")[0].lstrip("/") in str(caught.value)
    assert len(kolada.requests) == 1


def test_a_data_page_pointing_elsewhere_fails_the_data_fetch(two_kolada):
    kolada, other = two_kolada
    path = "/data/kpi/N00001/year/2020"
    kolada.inject(path, body=kolada_page(f"{other.base_url}{path}?page=2"))

    with pytest.raises(KoladaResponseError, match=f"{other.base_url}{path}"):
        list(fast_kolada(kolada.base_url).fetch_data(["N00001"], [2020]))

    assert other.requests == []


def test_a_redirect_to_another_host_is_refused(two_kolada):
    kolada, other = two_kolada
    kolada.inject("/kpi", status=302, headers={"Location": f"{other.base_url}/kpi"})

    with pytest.raises(KoladaResponseError, match="outside") as caught:
        fast_kolada(kolada.base_url).kpis()

    assert other.base_url in str(caught.value)


def test_an_absolute_next_url_under_the_base_is_followed():
    with small_kolada(absolute_next_url=True) as kolada:
        areas = fast_kolada(kolada.base_url, per_page=2).municipalities()

    assert [area["id"] for area in areas] == ["0000", "0001", "0114", "0115", "0117"]


# -- 2b: a pagination that never ends is cut off -------------------------------------------


def test_a_next_url_new_on_every_page_fails_after_the_page_cap_naming_the_query():
    with small_kolada() as kolada:
        for page in range(2, 13):
            kolada.inject("/kpi", body=kolada_page(f"/v3/kpi?page={page}&per_page=5000"))
        client = fast_kolada(kolada.base_url, max_pages=5)

        with pytest.raises(KoladaResponseError, match="5 pages") as caught:
            client.kpis()

        assert len(kolada.requests) == 5
        assert f"{kolada.base_url}/kpi?per_page=5000" in str(caught.value)


def test_a_data_query_with_endless_pages_fails_naming_the_query():
    with small_kolada() as kolada:
        path = "/data/kpi/N00001/year/2020"
        for page in range(2, 8):
            kolada.inject(path, body=kolada_page(f"/v3{path}?page={page}"))
        client = fast_kolada(kolada.base_url, max_pages=3)

        with pytest.raises(KoladaResponseError, match="3 pages") as caught:
            list(client.fetch_data(["N00001"], [2020]))

        assert f"{kolada.base_url}{path}?per_page=5000" in str(caught.value)


# -- 3: an SCB answer with status 200 that is not JSON names its URL -----------------------

TAB = "TAB638"
SELECTION = {"Region": ["0115"], "Kon": ["1", "2"], "ContentsCode": "BE0101N1", "Tid": "TOP(2)"}
HTML = b"<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>"


class FaultyScb(FakeScbServer):
    """The fake SCB, but requests whose path ends with ``suffix`` get ``body`` with 200."""

    def __init__(self, suffix: str, body: bytes | Callable[[bytes], bytes]):
        super().__init__()
        self.suffix = suffix
        self.fault = body

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        if not request.path.split("?")[0].endswith(self.suffix):
            super()._handle(request, method)
            return
        if callable(self.fault):
            # The real answer, captured, then spoiled.
            captured = _Captured(request)
            super()._handle(captured, method)
            body = self.fault(captured.body())
        else:
            length = int(request.headers.get("Content-Length") or 0)
            request.rfile.read(length)
            body = self.fault
        request.send_response(200)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


class _Captured:
    """A stand-in for the request handler that keeps what the fake would have written."""

    def __init__(self, request: BaseHTTPRequestHandler):
        import io

        self.path = request.path
        self.headers = request.headers
        self.rfile = request.rfile
        self.client_address = request.client_address
        self.wfile = io.BytesIO()

    def send_response(self, status: int) -> None:
        pass

    def send_header(self, name: str, value: str) -> None:
        pass

    def end_headers(self) -> None:
        pass

    def body(self) -> bytes:
        return self.wfile.getvalue()


def scb_client(server: FakeScbServer) -> ScbClient:
    http = HttpClient(policy=RetryPolicy(max_attempts=2, base_delay=0.01))
    return ScbClient(server.base_url, http=http, limiter=SlidingWindowLimiter(30, 1.0))


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (HTML, "HTML"),
        (lambda real: real[: len(real) // 2], "cut off"),
        (b"", "empty"),
        (b'["not", "a", "table"]', "not an object"),
    ],
    ids=["html", "cut-off", "empty", "json-list"],
)
def test_an_scb_data_answer_that_is_not_json_fails_naming_the_call(body, problem):
    with FaultyScb("/data", body) as scb, pytest.raises(ScbResponseError) as caught:
        url = f"{scb.base_url}/tables/{TAB}/data?lang=sv&outputFormat=json-stat2"
        scb_client(scb).fetch_table(TAB, SELECTION)

    assert isinstance(caught.value, FetchError)
    assert caught.value.url == url
    assert f"POST {url}" in str(caught.value)
    assert problem in str(caught.value)
    assert caught.value.status == 200


@pytest.mark.parametrize(
    ("body", "problem"),
    [(HTML, "HTML"), (lambda real: real[:-10], "cut off")],
    ids=["html", "cut-off"],
)
def test_an_scb_metadata_answer_that_is_not_json_fails_naming_the_call(body, problem):
    with FaultyScb("/metadata", body) as scb, pytest.raises(ScbResponseError) as caught:
        url = f"{scb.base_url}/tables/{TAB}/metadata?lang=sv&outputFormat=json-stat2"
        scb_client(scb).table_metadata(TAB)

    assert f"GET {url}" in str(caught.value)
    assert problem in str(caught.value)
