"""client-go's spam filter (EventSourceObjectSpamFilter): a token bucket per event source and
involved object, so an object that is always in trouble cannot flood the events topic.

Each (source, object) starts with ``burst`` tokens (client-go: 25) and earns one back every
``refill_s`` (client-go: 300 s, a QPS of 1/300), up to ``burst``. An event finding no token is
dropped. As in client-go the filter runs after the correlator has counted the event, so the
next Event written for that key carries the dropped ones in its count.

Time is the caller's (the correlator passes the events' own), so a replay drops what the
first pass dropped. The buckets are an LRU of ``cache_size`` keys, as in client-go.
"""

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from streams.events.lru import CACHE_SIZE, Lru

BURST = 25
REFILL_S = 300.0


class Verdict(Enum):
    WRITE = "write"
    DROP = "drop"  # the first drop since the key last wrote: worth a log line
    DROP_AGAIN = "drop_again"  # counted, not logged


@dataclass
class _Bucket:
    tokens: float
    at: datetime
    dropping: bool = False


class SpamFilter:
    def __init__(
        self, burst: int = BURST, refill_s: float = REFILL_S, cache_size: int = CACHE_SIZE
    ) -> None:
        self.burst, self.refill_s = burst, refill_s
        self._buckets: Lru[Hashable, _Bucket] = Lru(cache_size)

    def admit(self, key: Hashable, now: datetime) -> Verdict:
        """Take a token for ``key`` at ``now``, or say the event is to be dropped."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
            self._buckets.put(key, bucket)
        elif now > bucket.at:  # a record read out of time order earns nothing
            earned = (now - bucket.at).total_seconds() / self.refill_s
            bucket.tokens, bucket.at = min(float(self.burst), bucket.tokens + earned), now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.dropping = False
            return Verdict.WRITE
        first = not bucket.dropping
        bucket.dropping = True
        return Verdict.DROP if first else Verdict.DROP_AGAIN
