"""Terminal rows leave the status table a retention after they ended, found by time bucket.

A terminal row is final, so its expiry (when it ended, plus the retention) is known when it is
written and never moves. Each partition keeps its terminal rows' keys in buckets of expiry
time, and a tick pops only the buckets that are due: a tick costs what expires, not a scan of
the table (the State contract). A bucket is popped once its whole span is due, so a row
leaves between its expiry and one bucket width plus one tick later, never before.

The index lives in memory: the projection adds each row it turns terminal, and every
assignment rebuilds it from the recovered table, in the background from the first sweep on
(so a restart's first batches do not wait for it): expiry's only scan of every row, once per
assignment.
"""

import heapq
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from schemas.records import RecoveryResult


@dataclass(frozen=True)
class Retention:
    """How long a terminal row stays, and which records come too late to make a row."""

    seconds: float

    def expires_at(self, row: RecoveryResult) -> float:
        return self.expires_after(row.end_time, row.start_time)

    def expires_after(self, end_time: datetime | None, start_time: datetime) -> float:
        """When a terminal row with these times leaves the table, in epoch seconds (every
        terminal record carries its end time; one without would count from its start)."""
        return (end_time or start_time).timestamp() + self.seconds

    def is_late(self, record: RecoveryResult, now: float) -> bool:
        """Whether ``record``, of a recovery the table has no row of, must not make one.

        A row expires a retention after its recovery ended, so after it started. A record
        of a recovery that started longer ago and has no row is a replay of one whose row
        expired (or the projection fell a whole retention behind): projecting it would bring
        the row back, and count the recovery in its cluster's summary a second time."""
        return record.start_time.timestamp() + self.seconds <= now


class ExpiryIndex:
    """Per partition, the keys of terminal rows by expiry bucket, with a heap of the buckets
    so that a tick finds the due ones without looking at the others."""

    def __init__(self, bucket_s: float) -> None:
        self._bucket_s = bucket_s
        self._keys: dict[int, dict[int, set[str]]] = defaultdict(dict)
        self._heaps: dict[int, list[int]] = defaultdict(list)

    def add(self, partition: int, key: str, expires_at: float) -> None:
        """Remember ``key`` (adding it again changes nothing)."""
        bucket = math.floor(expires_at / self._bucket_s)
        buckets = self._keys[partition]
        if bucket not in buckets:
            buckets[bucket] = set()
            heapq.heappush(self._heaps[partition], bucket)
        buckets[bucket].add(key)

    def pop_due(self, partition: int, now: float) -> list[str]:
        """The keys of ``partition`` in buckets wholly due at ``now``, forgotten."""
        heap, buckets = self._heaps[partition], self._keys[partition]
        due: list[str] = []
        while heap and (heap[0] + 1) * self._bucket_s <= now:
            due.extend(buckets.pop(heapq.heappop(heap)))
        return due

    def clear(self) -> None:
        """Forget every partition: an assignment starts a rebuild from the table."""
        self._keys.clear()
        self._heaps.clear()
