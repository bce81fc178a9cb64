"""HTTP transport shared by every source: throttling, retries and a bounded total time.

Retrying is this module's job alone. Prefect tasks that call it are not retried, so a
refused request costs at most ``RetryPolicy.max_total_seconds``, never a multiple.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
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

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# A body cut off mid-transfer (ChunkedEncodingError) is as transient as a lost connection.
_TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class FetchError(Exception):
    """A request that failed for good; the message names the URL."""

    def __init__(self, message: str, *, url: str, status: int | None = None, body: bytes = b""):
        super().__init__(message)
        self.url = url
        self.status = status
        self.body = body


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
    timeout: float = 60.0


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
            try:
                raw = self.session.request(
                    method, url, params=params, json=json, timeout=self.policy.timeout
                )
            except _TRANSIENT_ERRORS as exc:
                problem = f"{type(exc).__name__}: {exc}"
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
                    body=raw.content,
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
                        f"{_snippet(raw.content)}",
                        url=final_url,
                        status=raw.status_code,
                        body=raw.content,
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
                raise FetchError(
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

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        exponential = min(self.policy.max_delay, self.policy.base_delay * 2 ** (attempt - 1))
        jittered = random.uniform(exponential / 2, exponential)
        return max(jittered, retry_after) if retry_after is not None else jittered


def _snippet(body: bytes, limit: int = 300) -> str:
    text = body[:limit].decode("utf-8", errors="replace").strip()
    return text + ("…" if len(body) > limit else "")
