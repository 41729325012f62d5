"""Keep library logging readable: mute a logger whose failure is reported as one typed
error, and rate-limit repeated warnings so a storm cannot flood the log.

During a storm Faust logs ``producer buffer full size <n>`` (logger
``faust.transport.producer``, WARNING, faust/transport/producer.py) every time a
table's changelog buffer passes 100 messages, followed by ``producer flush took <s>`` at
INFO: hundreds of pairs a minute that bury everything else. ``RateLimitFilter`` lets the
first occurrence of a message through, drops its repeats for ``interval_s`` and counts
each drop (``tmc_log_warnings_suppressed_total``); the first occurrence after the interval
passes with the number suppressed before it appended.

At the first start on a fresh broker aiokafka logs ``Group Coordinator Request failed:
[Error 15] GroupCoordinatorNotAvailableError`` at ERROR: the first consumer group makes Kafka
create ``__consumer_offsets``, and until its partition has a leader every FindCoordinator
answer is that retriable error, which aiokafka logs before retrying
(``GroupCoordinator.ensure_coordinator_known``), each retry again. ``CoordinatorWarmupFilter``
turns exactly that message into one INFO line for a grace period after its first occurrence; a
coordinator still missing after it is a real problem and stays an ERROR.
"""

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import CoordinatorNotAvailableError

DEFAULT_INTERVAL_S = 60.0
COORDINATOR_LOGGER = "aiokafka.consumer.group_coordinator"
COORDINATOR_GRACE_S = 30.0
# Loggers whose INFO lines come in the same floods as their warnings.
NOISY_LOGGERS = ("faust.transport.producer",)
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e-?\d+)?")
_MAX_KEYS = 1024


@contextmanager
def muted(name: str) -> Iterator[None]:
    """aiokafka logs "Unable connect to ..." before raising; the caller reports the raise."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


class SuppressedCounts:
    """How many records each (logger, level name) had suppressed; process-wide, thread-safe."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def add(self, logger: str, level: str) -> None:
        with self._lock:
            self._counts[(logger, level)] += 1

    def snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._counts)


#: What every RateLimitFilter counts into unless told otherwise; streams.metrics exports it.
SUPPRESSED = SuppressedCounts()


def message_shape(message: str) -> str:
    """The message with its numbers blanked: ``size 101`` and ``size 180`` are one message."""
    return _NUMBER.sub("#", message)


@dataclass
class _Window:
    started: float
    suppressed: int = 0


class RateLimitFilter(logging.Filter):
    """Passes the first of each repeated message per ``interval_s``, drops and counts the rest.

    A message is its logger, level and text with numbers blanked. Records below
    ``min_level`` pass untouched, except those of ``noisy_loggers``.
    """

    def __init__(
        self,
        interval_s: float = DEFAULT_INTERVAL_S,
        *,
        min_level: int = logging.WARNING,
        noisy_loggers: Iterable[str] = NOISY_LOGGERS,
        counts: SuppressedCounts = SUPPRESSED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.interval_s = interval_s
        self.min_level = min_level
        self.noisy_loggers = frozenset(noisy_loggers)
        self.counts = counts
        self._clock = clock
        self._windows: dict[tuple[str, int, str], _Window] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.min_level and record.name not in self.noisy_loggers:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is the handler's to report
            return True
        key = (record.name, record.levelno, message_shape(message))
        now = self._clock()
        with self._lock:
            window = self._windows.get(key)
            if window is not None and now - window.started < self.interval_s:
                window.suppressed += 1
                self.counts.add(record.name, record.levelname)
                return False
            if len(self._windows) >= _MAX_KEYS:
                self._forget_expired(now)
            self._windows[key] = _Window(now)
        if window is not None and window.suppressed:
            record.msg = (
                f"{message} ({window.suppressed} similar suppressed "
                f"in the last {now - window.started:.0f}s)"
            )
            record.args = ()  # mode's formatter would format None as one argument
        return True

    def _forget_expired(self, now: float) -> None:
        expired = [k for k, w in self._windows.items() if now - w.started >= self.interval_s]
        for key in expired or list(self._windows)[: _MAX_KEYS // 2]:
            del self._windows[key]


class CoordinatorWarmupFilter(logging.Filter):
    """Demote aiokafka's "group coordinator not available" ERROR while Kafka creates it.

    Only that logger, that level and that error: its first occurrence in this process becomes
    one INFO line saying why (dropped when the root logger is above INFO), its retries within
    ``grace_s`` are dropped, and later ones stay ERRORs.
    """

    def __init__(
        self, grace_s: float = COORDINATOR_GRACE_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.grace_s = grace_s
        self._clock = clock
        self._first: float | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != COORDINATOR_LOGGER or record.levelno != logging.ERROR:
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        if not any(isinstance(arg, CoordinatorNotAvailableError) for arg in args):
            return True
        now = self._clock()
        if self._first is not None:  # a retry (every 100 ms or so): silent within the grace
            return now - self._first >= self.grace_s
        self._first = now
        record.msg = f"{record.getMessage()} (expected while Kafka creates the group coordinator)"
        record.args = ()
        record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        return logging.getLogger().isEnabledFor(logging.INFO)


def rate_limited_logging(interval_s: float = DEFAULT_INTERVAL_S) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` fragment for Faust's ``logging_config`` setting.

    With ``merge`` mode's worker keeps its own formatters and root logger; the ``default``
    handler is declared as mode declares it (a colorlog stream handler with the
    ``colored`` formatter) plus the coordinator warm-up and rate-limit filters, so every record
    the worker prints goes through them, whichever library logged it.
    """
    return {
        "merge": True,
        "filters": {
            "tmc_coordinator_warmup": {"()": CoordinatorWarmupFilter},
            "tmc_rate_limit": {"()": RateLimitFilter, "interval_s": interval_s},
        },
        "handlers": {
            "default": {
                "class": "colorlog.StreamHandler",
                "formatter": "colored",
                "filters": ["tmc_coordinator_warmup", "tmc_rate_limit"],
            }
        },
    }
