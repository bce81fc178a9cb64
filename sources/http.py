"""HTTP transport shared by every source: throttling, retries and a bounded total time.

Retrying is this module's job alone. Prefect tasks that call it are not retried, so a
refused request costs at most ``RetryPolicy.max_total_seconds`` plus one attempt
(``RetryPolicy.attempt_seconds``, body included), never a multiple.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import os
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
import urllib3

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# A body cut off mid-transfer (ChunkedEncodingError) is as transient as a lost connection.
# Bodies are read from urllib3 directly (see ``_read_body``), so its errors come unwrapped.
_TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.ReadTimeoutError,
    urllib3.exceptions.SSLError,
)
_TIMEOUTS = (requests.Timeout, urllib3.exceptions.ReadTimeoutError)

# One attempt, from sending the request to the body's last byte, is cut off after this
# long. requests' own timeout restarts with every byte received, so a server trickling a
# byte every few seconds could hold a request for hours. The largest answers are about
# 1 MB (a 5,000-record Kolada page measured 0.76 MB, SCB's 150,000 cells about 1.3 MB),
# so 90 s leaves room for a link as slow as 15 kB/s.
DEFAULT_ATTEMPT_SECONDS = 90.0
ATTEMPT_SECONDS_ENV = "MALBILD_HTTP_ATTEMPT_SECONDS"

# Bytes asked of the socket per read while a body streams in.
_READ_SIZE = 64 * 1024


def attempt_seconds() -> float:
    """The time bound of one attempt: ``MALBILD_HTTP_ATTEMPT_SECONDS`` if set, else 90 s."""
    raw = os.environ.get(ATTEMPT_SECONDS_ENV)
    if not raw:
        return DEFAULT_ATTEMPT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        raise ValueError(f"{ATTEMPT_SECONDS_ENV}={raw!r} is not a number of seconds") from None
    if not seconds > 0:
        raise ValueError(f"{ATTEMPT_SECONDS_ENV}={raw!r} must be a positive number of seconds")
    return seconds


class FetchError(Exception):
    """A request that failed for good; the message names the URL."""

    def __init__(self, message: str, *, url: str, status: int | None = None, body: bytes = b""):
        super().__init__(message)
        self.url = url
        self.status = status
        self.body = body


class FetchTimeoutError(FetchError):
    """A request whose last attempt ran out of time (its answer too slow or not coming)."""


class UnreachableError(FetchError):
    """The host cannot be reached at all (its name does not resolve, or it refuses
    connections): no network, or a wrong base URL. Retrying does not help."""


# An unreachable host gets this many tries, not the policy's: a DNS failure or a refused
# connection is not transient the way a reset or a 503 is (offline runs took 85-100 s
# to fail with the full policy).
UNREACHABLE_ATTEMPTS = 2


def unreachable_reason(error: BaseException) -> str | None:
    """Why a connection error means the host cannot be reached, or None if it may pass.

    requests wraps urllib3's errors, which wrap the socket's: the cause is searched
    for along the chain (causes, contexts, ``reason`` and exception arguments).
    """
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return "its name does not resolve"
        if isinstance(current, ConnectionRefusedError):
            return "it refuses connections"
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        pending.extend(e for e in [*linked, *current.args] if isinstance(e, BaseException))
    return None


def probe(url: str, timeout: float = 3.0) -> None:
    """Raise UnreachableError when ``url``'s host cannot be reached (no request is sent).

    A TCP connection is opened and closed: it tells "no network" or "wrong address"
    in a second, before a run starts fetching.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        reason = unreachable_reason(exc) or f"{type(exc).__name__}: {exc}"
        raise UnreachableError(f"cannot reach {host}: {reason}", url=url) from None


@dataclass(frozen=True)
class Response:
    """One HTTP answer as fetched, before any parsing."""

    method: str
    url: str
    status: int
    body: bytes
    headers: dict[str, str]
    fetched_at: datetime
    request_body: bytes | None = None
    # What the caller asked for, in its own words ({"kind": "scb_data", "table": …}):
    # the raw landing files the answer under it, so no one guesses it from the URL.
    label: dict[str, Any] | None = None

    @cached_property
    def content_hash(self) -> str:
        """sha256 of the body, computed once (the landing and the transforms share it)."""
        return hashlib.sha256(self.body).hexdigest()


class Limiter(Protocol):
    def acquire(self) -> None:
        """Block until one more call is allowed."""


class IntervalLimiter:
    """At most ``rate`` calls per second, evenly spaced; thread-safe."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self._sleep(start - now)


class SlidingWindowLimiter:
    """At most ``max_calls`` in any ``window`` seconds; thread-safe.

    SCB counts calls per IP address in a sliding window, so every call made by this
    process (all threads and tasks) must go through one instance.
    """

    def __init__(
        self,
        max_calls: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if max_calls < 1 or window <= 0:
            raise ValueError(f"bad window limit: {max_calls} calls per {window} s")
        self.max_calls = max_calls
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()

    def reconfigure(self, max_calls: int, window: float) -> None:
        """Adopt limits read from the server (SCB's ``/config``)."""
        with self._lock:
            self.max_calls = max_calls
            self.window = window

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                while self._calls and self._calls[0] <= now - self.window:
                    self._calls.popleft()
                if len(self._calls) < self.max_calls:
                    self._calls.append(now)
                    return
                wait = self._calls[0] + self.window - now
            self._sleep(max(wait, 0.001))


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to retry transient failures."""

    max_attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_total_seconds: float = 120.0
    # requests' timeout: for connecting, and for each read (it restarts with every byte).
    timeout: float = 60.0
    # One whole attempt, the body's download included (see DEFAULT_ATTEMPT_SECONDS).
    attempt_seconds: float = field(default_factory=attempt_seconds)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


@dataclass
class HttpClient:
    """GET/POST with a limiter, retries with exponential backoff and jitter, and a time bound.

    ``on_response`` sees every final answer (for raw landing); ``requests_made`` counts
    every attempt sent, retries included.
    """

    limiter: Limiter | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    session: Any = None
    on_response: Callable[[Response], None] | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    user_agent: str = "malbild (+https://github.com/malbild/malbild)"
    requests_made: int = 0
    _count_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.session is None:
            self.session = requests.Session()
            self.session.headers["User-Agent"] = self.user_agent

    def get(
        self,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        label: dict[str, Any] | None = None,
    ) -> Response:
        return self.request("GET", url, params=params, label=label)

    def post_json(
        self,
        url: str,
        payload: Any,
        *,
        params: dict[str, Any] | None = None,
        label: dict[str, Any] | None = None,
    ) -> Response:
        return self.request("POST", url, params=params, json=payload, label=label)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        label: dict[str, Any] | None = None,
    ) -> Response:
        """Send one request, retrying transient failures; raise ``FetchError`` otherwise.

        ``label`` travels with the answer to ``on_response`` (the raw landing's kind and tag).
        """
        started = self.clock()
        attempt = 0
        while True:
            attempt += 1
            if self.limiter is not None:
                self.limiter.acquire()
            with self._count_lock:
                self.requests_made += 1
            problem: str
            unreachable: str | None = None
            wait_hint: float | None = None
            last_status: int | None = None
            timed_out = False
            deadline = self.clock() + self.policy.attempt_seconds
            try:
                raw = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    timeout=min(self.policy.timeout, self.policy.attempt_seconds),
                    stream=True,
                )
                body = self._read_body(raw, deadline)
            except _AttemptTooSlow as exc:
                problem = str(exc)
                timed_out = True
            except _TRANSIENT_ERRORS as exc:
                problem = f"{type(exc).__name__}: {exc}"
                timed_out = isinstance(exc, _TIMEOUTS)
                unreachable = unreachable_reason(exc)
                if unreachable is not None and attempt >= UNREACHABLE_ATTEMPTS:
                    host = urlsplit(url).hostname
                    raise UnreachableError(
                        f"cannot reach {host}: {unreachable} ({method} {url})", url=url
                    ) from None
            else:
                final_url = raw.url or url
                response = Response(
                    method=method,
                    url=final_url,
                    status=raw.status_code,
                    body=body,
                    headers=dict(raw.headers),
                    fetched_at=datetime.now(UTC),
                    request_body=raw.request.body if getattr(raw, "request", None) else None,
                    label=label,
                )
                if raw.status_code < 400:
                    if self.on_response is not None:
                        self.on_response(response)
                    return response
                if raw.status_code not in RETRY_STATUSES:
                    if self.on_response is not None:
                        self.on_response(response)
                    raise FetchError(
                        f"{method} {final_url} was refused: HTTP {raw.status_code} "
                        f"{_snippet(body)}",
                        url=final_url,
                        status=raw.status_code,
                        body=body,
                    )
                problem = f"HTTP {raw.status_code}"
                last_status = raw.status_code
                wait_hint = retry_after_seconds(raw.headers.get("Retry-After"))

            delay = self._backoff(attempt, wait_hint)
            elapsed = self.clock() - started
            if (
                attempt >= self.policy.max_attempts
                or elapsed + delay > self.policy.max_total_seconds
            ):
                raise (FetchTimeoutError if timed_out else FetchError)(
                    f"{method} {url} failed after {attempt} attempts in {elapsed:.1f} s "
                    f"(last: {problem})",
                    url=url,
                    status=last_status,
                )
            # An unreachable host gets one quiet retry: its failure is told in one line.
            (log.debug if unreachable else log.warning)(
                "%s %s: %s; retrying in %.1f s", method, url, problem, delay
            )
            self.sleep(delay)

    def _read_body(self, raw: Any, deadline: float) -> bytes:
        """The whole body of a streamed answer; ``_AttemptTooSlow`` once ``deadline`` passes.

        Each read waits at most until the deadline, so a body that trickles in or stalls
        midway cannot outlast it. (The status line and headers, read before, are bounded
        by ``RetryPolicy.timeout`` per read only.)
        """
        stream: Any = getattr(raw, "raw", None)
        if not hasattr(stream, "read1"):  # a session that hands over whole bodies (tests')
            content: bytes = raw.content
            return content
        pieces: list[bytes] = []
        received = 0
        try:
            while True:
                remaining = deadline - self.clock()
                if remaining <= 0:
                    raise _AttemptTooSlow(self.policy.attempt_seconds, received)
                _limit_read_wait(stream, min(self.policy.timeout, remaining))
                try:
                    piece = stream.read1(_READ_SIZE, decode_content=True)
                except urllib3.exceptions.ReadTimeoutError:
                    if self.clock() >= deadline:
                        raise _AttemptTooSlow(self.policy.attempt_seconds, received) from None
                    raise
                if not piece:
                    return b"".join(pieces)
                pieces.append(piece)
                received += len(piece)
        finally:
            raw.close()

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        exponential = min(self.policy.max_delay, self.policy.base_delay * 2 ** (attempt - 1))
        jittered = random.uniform(exponential / 2, exponential)
        return max(jittered, retry_after) if retry_after is not None else jittered


class _AttemptTooSlow(Exception):
    """One attempt took longer than the policy allows; retried like any timeout."""

    def __init__(self, seconds: float, received: int):
        super().__init__(f"no complete answer within {seconds:g} s ({received} bytes received)")


def _limit_read_wait(stream: Any, seconds: float) -> None:
    """Let the next read of ``stream`` (urllib3's response) wait at most ``seconds``.

    urllib3 sets the socket's timeout once per request; it is shortened here as the
    attempt's deadline nears. urllib3 sets it afresh for the connection's next request.
    """
    sock = getattr(getattr(stream, "connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.001))


def json_problem(body: bytes, error: ValueError) -> str:
    """What is wrong with a body that failed to parse as JSON, for an error message.

    Tells an empty body, an HTML page (a proxy's or a maintenance page) and a document
    cut off before its end from other broken JSON.
    """
    start = body.lstrip()[:200].lower()
    if not start:
        return "not JSON: the body is empty"
    if start.startswith(b"<"):
        if start.startswith(b"<!doctype html") or b"<html" in start:
            return "not JSON but an HTML page"
        return "not JSON but markup (XML?)"
    if _ends_early(error):
        return f"not JSON: cut off after {len(body)} bytes ({error})"
    return f"not JSON ({error})"


def _ends_early(error: ValueError) -> bool:
    """Whether a JSON parse failed because the document ended too soon."""
    if isinstance(error, UnicodeDecodeError):
        return error.reason == "unexpected end of data"
    if isinstance(error, json.JSONDecodeError):
        # A string is only ever unterminated at the end of the document.
        return error.msg.startswith("Unterminated string") or error.pos >= len(error.doc.rstrip())
    return False


def unreadable_answer(response: Response, expected: str, problem: str) -> str:
    """The message for an answer that is not ``expected``: what, where, and how it starts."""
    return (
        f"{response.method} {response.url} did not answer {expected} "
        f"(HTTP {response.status}): {problem}; body starts {_snippet(response.body, 200)!r}"
    )


def _snippet(body: bytes, limit: int = 300) -> str:
    text = body[:limit].decode("utf-8", errors="replace").strip()
    return text + ("…" if len(body) > limit else "")
