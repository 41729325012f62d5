"""Gentle on cluster APIs: a client-side token bucket per API server, and 429s honoured.

A recovery must never be the load that keeps an API server down. Like client-go's
``rest.Config`` (``QPS`` 5, ``Burst`` 10), every API server the gateway talks to gets one
bucket, shared by every strategy of the worker acting on it: a request takes a token, or
waits for one. An API server that answers 429 is obeyed: with ``Retry-After`` (seconds or
an HTTP date) the whole bucket waits that long, so the other strategies on that cluster
wait too; without it the request backs off with jitter. No wait ever passes the deadline
of the call (the attempt's, ``strategies.gateway.calls_until``): the call fails at once as
``Throttled`` instead, and the attempt is retried later. Every wait is counted by reason in
``THROTTLED``, which the worker exports as ``tmc_gateway_throttled_total{reason}``.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

#: 429 without Retry-After: the first back-off, doubling up to the cap (then jittered).
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0


class ThrottleReason(StrEnum):
    """Why a request waited (or gave up): the only label of the metric, so it is bounded."""

    RATE_LIMIT = "client_rate_limit"  # our own bucket for that API server was empty
    RETRY_AFTER = "retry_after"  # a 429 said how long to wait
    BACKOFF = "backoff"  # a 429 did not; jittered exponential back-off
    DEADLINE = "deadline"  # the wait would have passed the call's deadline: gave up


class ThrottleCounts:
    """How often requests were throttled, and seconds waited, by reason. Process-wide, as
    one worker holds one gateway; the metrics collector reads a snapshot."""

    def __init__(self) -> None:
        self._events: Counter[ThrottleReason] = Counter()
        self._seconds: dict[ThrottleReason, float] = {}

    def count(self, reason: ThrottleReason, waited_s: float = 0.0) -> None:
        self._events[reason] += 1
        self._seconds[reason] = self._seconds.get(reason, 0.0) + waited_s

    def snapshot(self) -> Mapping[ThrottleReason, tuple[int, float]]:
        """Per reason: (times, seconds waited)."""
        return {reason: (n, self._seconds.get(reason, 0.0)) for reason, n in self._events.items()}


THROTTLED = ThrottleCounts()


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date (RFC 9110);
    None when absent or unreadable (then the caller backs off on its own)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    waited = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, waited)


def backoff_s(retry: int, rng: random.Random) -> float:
    """The wait before retry ``retry`` (1-based) of a 429 that named none: doubling from
    BACKOFF_BASE_S up to BACKOFF_CAP_S, half of it jittered so clients do not march in step."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0 ** (retry - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


class TokenBucket:
    """``qps`` tokens a second, at most ``burst`` saved up. ``reserve`` takes a token now and
    says how long to wait for it (tokens may go negative: callers queue in order), as
    golang.org/x/time/rate's ``Reserve`` does; ``defer`` holds every caller back until a
    moment (a server's Retry-After)."""

    def __init__(self, qps: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._qps = qps
        self._burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()
        self._not_before = 0.0

    def reserve(self) -> float:
        """Take a token; the seconds until it is ours (0 when one was saved up)."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._qps)
        self._updated = now
        self._tokens -= 1
        refill = -self._tokens / self._qps if self._tokens < 0 else 0.0
        return max(refill, self._not_before - now)

    def cancel(self) -> None:
        """Give back a reserved token that will not be used (its wait was too long)."""
        self._tokens = min(self._burst, self._tokens + 1)

    def defer(self, until: float) -> None:
        """No request before ``until`` (on this bucket's clock)."""
        self._not_before = max(self._not_before, until)
