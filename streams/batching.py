"""Batching by hand, shared by the stages that write tables once per batch (triage, status).

Faust's ``take`` cannot write tables (NOTES.md). So a stage reads its events without acking
them, applies each at once to in-memory state, and a batch closes ``linger_s`` after its
first event (or when full): it writes each partition's rows once, then acks the events.
A batch begun before a rebalance is dropped, its events unacked (whoever owns their partitions
now reads them again); it abandons them, so that the consumer no longer waits for them.
Faust takes a table write's changelog partition (and the RocksDB store its database) from
the task's current event, which only stream iteration sets; the closer runs in a task of its
own, so it makes one of each partition's events current for that partition's writes.
"""

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import cast

from faust.streams import _current_event
from faust.types import TP, EventT

from streams.safe_offsets import SafeOffsetsConsumer

log = logging.getLogger(__name__)


@dataclass
class EventBatch:
    """Begun in ``epoch`` (a rebalance moves it on: such a batch is dropped, unacked)."""

    epoch: int
    opened: float  # monotonic seconds
    events: list[EventT[bytes]] = field(default_factory=list)
    last_event_of: dict[int, EventT[bytes]] = field(default_factory=dict)  # partition -> event
    read_to: dict[TP, int] = field(default_factory=dict)  # the next offset of each source

    def add_event(self, event: EventT[bytes]) -> None:
        self.events.append(event)
        self.last_event_of[event.message.partition] = event
        self.read_to[event.message.tp] = event.message.offset + 1

    def behind(self, highwater: Callable[[TP], int | None]) -> bool:
        """Whether the broker held more of the batch's partitions than the batch has read."""
        return any((highwater(tp) or 0) > read for tp, read in self.read_to.items())

    def __len__(self) -> int:
        return len(self.events)

    def drop(self, what: str) -> None:
        """Leave the events unacked (a rebalance came since the batch began)."""
        log.info("dropping %s of %d begun before a rebalance", what, len(self))
        abandon(self.events)


def reading_a_backlog(
    batch: EventBatch | None, max_wait_s: float, highwater: Callable[[TP], int | None]
) -> bool:
    """Whether ``batch`` should grow: the broker holds more than it has read, and it has
    been open less than ``max_wait_s``. Faust hands events over one by one (its fetcher
    yields to the loop per record), so an empty queue does not mean the worker has caught
    up; the consumer's highwater does. A backlog read in large batches writes each key once
    per batch, which is where batching pays."""
    return (
        batch is not None
        and time.monotonic() - batch.opened < max_wait_s
        and batch.behind(highwater)
    )


def abandon(events: Iterable[EventT[bytes]]) -> None:
    """Events left unacked, read again from the committed offset: not waited for by the
    consumer (streams/safe_offsets.py says why)."""
    for event in events:
        cast(SafeOffsetsConsumer, event.app.consumer).abandon(event.message)


@contextmanager
def current(event: EventT[bytes]) -> Iterator[None]:
    """Make ``event`` the current event of this task while writing its partition's rows."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


async def close_lingering(
    opened: asyncio.Event,
    linger_s: float,
    close: Callable[[], Awaitable[None]],
    crash: Callable[[BaseException], Awaitable[None]],
    keep_open: Callable[[], bool] = lambda: False,
) -> None:
    """Forever: once a batch is ``opened``, wait ``linger_s`` (again while ``keep_open``),
    then ``close`` it. A closer that died would stall its stage for good, so a failure
    crashes the worker instead."""
    while True:
        await opened.wait()
        while True:
            await asyncio.sleep(linger_s)
            if not keep_open():
                break
        try:
            await close()
        except Exception as exc:
            log.exception("closing a batch failed; stopping the worker")
            await crash(exc)
            raise
