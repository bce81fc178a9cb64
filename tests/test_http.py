import gzip
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from sources.http import (
    ATTEMPT_SECONDS_ENV,
    DEFAULT_ATTEMPT_SECONDS,
    FetchError,
    FetchTimeoutError,
    HttpClient,
    IntervalLimiter,
    Response,
    RetryPolicy,
    SlidingWindowLimiter,
    UnreachableError,
    json_problem,
    probe,
    retry_after_seconds,
)
from tests.kolada_fixtures import FakeClock, answer, scripted_http, session_urls

URL = "https://example.test/v3/kpi"


@pytest.mark.parametrize(
    "failure",
    [
        requests.ConnectionError("connection refused"),
        requests.ReadTimeout("read timed out"),
        requests.exceptions.ChunkedEncodingError("body cut off"),
    ],
    ids=["connection-error", "timeout", "cut-off-body"],
)
def test_transient_transport_failure_is_retried_then_succeeds(failure):
    clock = FakeClock()
    http = scripted_http([failure, answer(200, b"ok")], clock)

    response = http.get(URL)

    assert response.body == b"ok"
    assert session_urls(http) == [URL, URL]
    assert len(clock.sleeps) == 1
    assert http.requests_made == 2


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_status_is_retried_then_succeeds(status):
    http = scripted_http([answer(status, b"busy"), answer(200, b"ok")])

    assert http.get(URL).body == b"ok"
    assert http.requests_made == 2


def test_retry_after_seconds_is_honoured():
    clock = FakeClock()
    http = scripted_http(
        [answer(429, b"", {"Retry-After": "7"}), answer(200, b"ok")], clock, base_delay=0.1
    )

    http.get(URL)

    assert clock.sleeps == [7.0]


def test_retry_after_http_date_is_honoured():
    clock = FakeClock()
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    http = scripted_http(
        [answer(503, b"", {"Retry-After": when}), answer(200, b"ok")], clock, base_delay=0.1
    )

    http.get(URL)

    assert len(clock.sleeps) == 1
    assert 18.0 <= clock.sleeps[0] <= 20.0


def test_retry_after_parses_delta_seconds_and_http_dates():
    now = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)

    assert retry_after_seconds("12", now) == 12.0
    assert retry_after_seconds("Sun, 29 Nov 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Sun, 29 Nov 2026 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_other_client_errors_are_not_retried(status):
    http = scripted_http([answer(status, b'{"detail": "no such thing"}')])

    with pytest.raises(FetchError) as caught:
        http.get(URL)

    assert caught.value.status == status
    assert caught.value.url == URL
    assert URL in str(caught.value)
    assert "no such thing" in str(caught.value)
    assert http.requests_made == 1


def test_gives_up_within_the_total_time_bound_naming_the_url():
    clock = FakeClock()
    http = scripted_http(
        [answer(503, b"down")] * 50,
        clock,
        max_attempts=50,
        base_delay=1.0,
        max_delay=4.0,
        max_total_seconds=20.0,
    )

    with pytest.raises(FetchError) as caught:
        http.get(URL)

    assert sum(clock.sleeps) <= 20.0
    assert http.requests_made < 50
    assert URL in str(caught.value)
    assert caught.value.status == 503


def test_gives_up_after_max_attempts():
    http = scripted_http([requests.ConnectionError("refused")] * 3, max_attempts=3)

    with pytest.raises(FetchError, match="after 3 attempts"):
        http.get(URL)

    assert http.requests_made == 3


def test_retry_after_beyond_the_time_bound_fails_at_once():
    clock = FakeClock()
    http = scripted_http([answer(429, b"", {"Retry-After": "3600"})], clock, max_total_seconds=60)

    with pytest.raises(FetchError, match="429"):
        http.get(URL)

    assert clock.sleeps == []


def test_backoff_grows_exponentially_up_to_max_delay():
    clock = FakeClock()
    http = scripted_http(
        [answer(500)] * 6 + [answer(200, b"ok")],
        clock,
        base_delay=1.0,
        max_delay=4.0,
        max_total_seconds=1000,
    )

    http.get(URL)

    upper_bounds = [1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    assert all(
        bound / 2 <= slept <= bound for slept, bound in zip(clock.sleeps, upper_bounds, strict=True)
    )


def test_on_response_sees_final_answers_only():
    seen: list[Response] = []
    http = scripted_http([answer(503), answer(200, b"ok"), answer(404, b"gone")])
    http.on_response = seen.append

    http.get(URL)
    with pytest.raises(FetchError):
        http.get(URL + "/x")

    assert [(response.status, response.body) for response in seen] == [(200, b"ok"), (404, b"gone")]


def test_interval_limiter_spaces_calls_evenly():
    clock = FakeClock()
    limiter = IntervalLimiter(5.0, clock=clock, sleep=clock.sleep)

    for _ in range(4):
        limiter.acquire()

    assert clock.sleeps == pytest.approx([0.2, 0.2, 0.2])


def test_interval_limiter_does_not_wait_when_calls_are_already_spaced():
    clock = FakeClock()
    limiter = IntervalLimiter(5.0, clock=clock, sleep=clock.sleep)

    limiter.acquire()
    clock.now += 1.0
    limiter.acquire()

    assert clock.sleeps == []


def test_interval_limiter_refuses_a_rate_that_is_not_positive():
    with pytest.raises(ValueError):
        IntervalLimiter(0)


def test_sliding_window_limiter_waits_for_the_oldest_call_to_leave_the_window():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(3, 10.0, clock=clock, sleep=clock.sleep)

    for _ in range(3):
        limiter.acquire()
    assert clock.sleeps == []
    clock.now += 4.0
    limiter.acquire()

    assert sum(clock.sleeps) == pytest.approx(6.0)


def test_sliding_window_limiter_adopts_reconfigured_limits():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(1, 10.0, clock=clock, sleep=clock.sleep)
    limiter.reconfigure(30, 10.0)

    for _ in range(30):
        limiter.acquire()

    assert clock.sleeps == []
    limiter.acquire()
    assert sum(clock.sleeps) == pytest.approx(10.0)


def test_a_host_whose_name_does_not_resolve_fails_after_one_retry_naming_it():
    import time

    http = HttpClient(policy=RetryPolicy(max_attempts=8, base_delay=0.01, max_total_seconds=60))
    started = time.monotonic()

    with pytest.raises(UnreachableError, match=r"cannot reach nowhere\.invalid: its name"):
        http.get("http://nowhere.invalid/v3/kpi")

    assert http.requests_made == 2
    assert time.monotonic() - started < 5


def test_a_refused_connection_fails_after_one_retry_naming_the_host():
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    http = HttpClient(policy=RetryPolicy(max_attempts=8, base_delay=0.01, max_total_seconds=60))

    with pytest.raises(UnreachableError, match=r"cannot reach 127\.0\.0\.1: it refuses"):
        http.get(f"http://127.0.0.1:{port}/v3/kpi")

    assert http.requests_made == 2


def test_probe_tells_an_unreachable_host_without_sending_a_request():
    with pytest.raises(UnreachableError, match=r"cannot reach nowhere\.invalid"):
        probe("https://nowhere.invalid/v3")


# -- the time bound of one attempt ---------------------------------------------------------


def test_attempt_bound_defaults_to_90_seconds(monkeypatch):
    monkeypatch.delenv(ATTEMPT_SECONDS_ENV, raising=False)

    assert DEFAULT_ATTEMPT_SECONDS == 90.0
    assert RetryPolicy().attempt_seconds == 90.0


def test_attempt_bound_comes_from_environment(monkeypatch):
    monkeypatch.setenv(ATTEMPT_SECONDS_ENV, "2.5")
    assert RetryPolicy().attempt_seconds == 2.5
    assert RetryPolicy(attempt_seconds=7).attempt_seconds == 7

    for bad in ("slow", "0", "-1", "nan"):
        monkeypatch.setenv(ATTEMPT_SECONDS_ENV, bad)
        with pytest.raises(ValueError, match=ATTEMPT_SECONDS_ENV):
            RetryPolicy()


def test_read_timeouts_to_the_last_attempt_fail_as_a_timeout():
    http = scripted_http([requests.ReadTimeout("read timed out")] * 2, max_attempts=2)

    with pytest.raises(FetchTimeoutError, match="after 2 attempts"):
        http.get(URL)


# -- bodies read from a real socket --------------------------------------------------------

Handler = Callable[[BaseHTTPRequestHandler, int], None]


@contextmanager
def local_server(answer: Handler) -> Iterator[str]:
    """A server on 127.0.0.1 answering GET with ``answer(handler, request_number)``."""
    count = iter(range(1_000_000))

    class Handle(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            answer(self, next(count))

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handle)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,))
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v3/kpi"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def send(handler: BaseHTTPRequestHandler, body: bytes, headers: dict[str, str]) -> None:
    handler.send_response(200)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


BODY = json.dumps({"values": [{"id": f"N{n:05d}"} for n in range(5000)]}).encode()


def test_a_gzip_encoded_body_arrives_decoded():
    packed = gzip.compress(BODY)

    def answer(handler, _number):
        send(handler, packed, {"Content-Encoding": "gzip", "Content-Length": str(len(packed))})

    with local_server(answer) as url:
        assert HttpClient().get(url).body == BODY


def test_a_chunked_body_arrives_whole():
    def answer(handler, _number):
        chunks = [BODY[i : i + 7000] for i in range(0, len(BODY), 7000)]
        framed = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks)
        send(handler, framed + b"0\r\n\r\n", {"Transfer-Encoding": "chunked"})

    with local_server(answer) as url:
        assert HttpClient().get(url).body == BODY


def test_keep_alive_connections_are_reused_after_a_whole_body():
    connections = set()

    def answer(handler, _number):
        connections.add(handler.client_address)
        send(handler, BODY, {"Content-Length": str(len(BODY))})

    with local_server(answer) as url:
        http = HttpClient()
        for _ in range(3):
            http.get(url)

    assert len(connections) == 1


def test_a_body_cut_off_by_the_server_is_retried():
    def answer(handler, number):
        if number == 0:  # promises the whole body, sends a tenth, hangs up
            handler.close_connection = True
            send(handler, BODY[: len(BODY) // 10], {"Content-Length": str(len(BODY))})
        else:
            send(handler, BODY, {"Content-Length": str(len(BODY))})

    with local_server(answer) as url:
        http = HttpClient(policy=RetryPolicy(base_delay=0.01))
        assert http.get(url).body == BODY

    assert http.requests_made == 2


# -- words for a body that is not JSON -----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"<!DOCTYPE html><html><body>503</body></html>", "not JSON but an HTML page"),
        (b"  <html lang='sv'><p>Underh\xc3\xa5ll</p></html>", "not JSON but an HTML page"),
        (b'<?xml version="1.0"?><error/>', "not JSON but markup"),
        (b"", "not JSON: the body is empty"),
        (b" \n", "not JSON: the body is empty"),
        (b'{"values": [{"id": "N1"}, {"id"', "not JSON: cut off after 31 bytes"),
        (b'{"title": "Folkm\xc3\xa4ngd', "not JSON: cut off"),
        (b'{"title": "Folkm\xc3', "not JSON: cut off"),
        (b"{'values': []}", "not JSON (Expecting property name"),
        (b'{"a": 1} trailing', "not JSON (Extra data"),
    ],
    ids=["html", "html-lowercase", "xml", "empty", "blank", "cut-off", "cut-in-string",
         "cut-in-character", "python-repr", "trailing"],
)  # fmt: skip
def test_json_problem_tells_html_cut_off_and_other_broken_bodies(body, words):
    try:
        json.loads(body)
    except ValueError as error:
        assert json_problem(body, error).startswith(words)
    else:
        pytest.fail("the body parsed")
