"""Batching by hand, shared by the stages that write tables once per batch (triage, status).

Faust's ``take`` cannot write tables (NOTES.md). So a stage reads its events without acking
them, applies each at once to in-memory state, and a batch closes ``linger_s`` after its
first event (or when full): it writes each partition's rows once, then acks the events.
Faust takes a table write's changelog partition (and the RocksDB store its database) from
the task's current event, which only stream iteration sets; the closer runs in a task of its
own, so it makes one of each partition's events current for that partition's writes.
"""

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from faust.streams import _current_event
from faust.types import EventT

log = logging.getLogger(__name__)


@dataclass
class EventBatch:
    """Begun in ``epoch`` (a rebalance moves it on: such a batch is dropped, unacked)."""

    epoch: int
    opened: float  # monotonic seconds
    events: list[EventT[bytes]] = field(default_factory=list)
    last_event_of: dict[int, EventT[bytes]] = field(default_factory=dict)  # partition -> event

    def add_event(self, event: EventT[bytes]) -> None:
        self.events.append(event)
        self.last_event_of[event.message.partition] = event

    def __len__(self) -> int:
        return len(self.events)


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
