"""Catch up before acting: the status table must hold every result already on the topic.

When a worker is assigned partitions, the results a previous owner published may not be in
the status table yet (its results agent had not projected or committed them). A recovery whose
Completed record sits unprojected on the topic still looks InProgress in the table; resuming it
would run it again, and publish InProgress after Completed. So each assignment records, per
results partition, the offset the projection must reach (the end offset; under exactly-once
the last stable offset, whose final record is a commit marker that is never delivered), and
every action that reads the table waits until the partition has caught up.

The generation counts rebalances: work admitted under one generation stands down when
another begins, so a worker that lost a partition never acts on it (NOTES.md, zombies).
"""

import asyncio
import logging
from collections.abc import Iterable, Mapping

log = logging.getLogger(__name__)


class CatchUp:
    """Per results partition: how far the projection must get, and how far it got.

    A rebalance revokes (everything closes, the generation moves on), assigns (the owned
    partitions get a gate each), recovers the tables, and measures the targets; a partition
    opens once its tables are recovered and its projection has reached the target. Faust may
    report recovery before or after the assignment signal, so neither order is assumed.
    """

    def __init__(self, exactly_once: bool = False) -> None:
        self._marker = 1 if exactly_once else 0
        self._targets: dict[int, int] = {}
        self._projected: dict[int, int] = {}
        self._caught_up: dict[int, asyncio.Event] = {}
        self._recovered = False
        self.generation = 0

    def revoke(self) -> None:
        """Partitions are being taken away: whatever was admitted before must stand down."""
        self.generation += 1
        self._recovered = False
        for partition in list(self._caught_up):
            self._forget(partition)

    def assign(self, partitions: Iterable[int]) -> None:
        """The new assignment (always after a revoke): a closed gate per owned partition."""
        for partition in partitions:
            self._caught_up.setdefault(partition, asyncio.Event())

    def recovered(self) -> None:
        """The tables hold what their changelogs hold."""
        self._recovered = True
        for partition in list(self._caught_up):
            self._check(partition)

    def set_targets(self, ends: Mapping[int, int], committed: Mapping[int, int | None]) -> None:
        """End offsets at assignment, and where the group's projection had committed to."""
        for partition, end in ends.items():
            if partition not in self._caught_up:
                continue  # revoked meanwhile
            self._targets[partition] = max(end - self._marker, 0)
            start = max(committed.get(partition) or 0, 0)
            self._projected[partition] = max(self._projected.get(partition, 0), start)
            self._check(partition)

    def projected(self, partition: int, offset: int) -> None:
        """The projection has applied the record at ``offset``."""
        if partition in self._caught_up and offset + 1 > self._projected.get(partition, 0):
            self._projected[partition] = offset + 1
            self._check(partition)

    def is_open(self, partition: int) -> bool:
        """Whether ``partition`` has caught up (or is not owned: nothing of it is read)."""
        event = self._caught_up.get(partition)
        return event is None or event.is_set()

    async def wait(self, partition: int) -> bool:
        """Until ``partition`` has caught up; False if it is not (or no longer) owned."""
        event = self._caught_up.get(partition)
        if event is None:
            return False
        await event.wait()
        return self._caught_up.get(partition) is event

    async def wait_all(self, partitions: Iterable[int], timeout_s: float) -> bool:
        """Until each of ``partitions`` has caught up or is no longer owned; False if
        ``timeout_s`` passed first."""
        waits = asyncio.gather(*(self.wait(partition) for partition in partitions))
        try:
            await asyncio.wait_for(waits, timeout_s)
        except TimeoutError:
            return False
        return True

    def lagging(self) -> dict[int, tuple[int, int | None]]:
        """The owned partitions not caught up: (projected to, target or None if unmeasured)."""
        return {
            partition: (self._projected.get(partition, 0), self._targets.get(partition))
            for partition, event in sorted(self._caught_up.items())
            if not event.is_set()
        }

    def _check(self, partition: int) -> None:
        target = self._targets.get(partition)
        if not self._recovered or target is None or self._projected.get(partition, 0) < target:
            return
        event = self._caught_up[partition]
        if not event.is_set():
            log.info("results partition %d caught up at offset %d", partition, target)
            event.set()

    def _forget(self, partition: int) -> None:
        """Wake waiters of a partition that is gone: ``wait`` tells them it is not theirs."""
        event = self._caught_up.pop(partition)
        self._targets.pop(partition, None)
        self._projected.pop(partition, None)
        event.set()
