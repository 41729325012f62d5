"""One batch of triage: the events read since the last flush, and the records they produce.

Faust's ``take`` cannot write tables (NOTES.md), so the ingest agents batch by hand: they read
events without acking them, triage each at once against the in-memory dedup state, and close
the batch when nothing more is waiting or it is full. Closing writes each partition's dedup
state once, with one of that partition's events current (Faust takes a table write's
changelog partition, and the RocksDB store its database, from the current event), then
sends the records the decisions produced, then acks the events. A crash before the ack
redelivers the whole batch, and triage's decisions are deterministic.
"""

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from faust.streams import _current_event
from faust.types import EventT, TopicT


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: TopicT
    key: bytes
    value: bytes


@dataclass
class TriageBatch:
    """Begun in dedup ``epoch``: a batch that outlives a rebalance is dropped, not closed."""

    epoch: int
    events: list[EventT[bytes]] = field(default_factory=list)
    last_event_of: dict[int, EventT[bytes]] = field(default_factory=dict)  # partition -> event
    outbox: list[Outgoing] = field(default_factory=list)

    def add(self, event: EventT[bytes]) -> None:
        self.events.append(event)
        self.last_event_of[event.message.partition] = event

    def send(self, topic: TopicT, key: bytes, value: bytes) -> None:
        """Send once the batch's state is written."""
        self.outbox.append(Outgoing(topic, key, value))

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
