"""One batch of triage: the events decided since the last flush, and the records they produce.

Faust's ``take`` cannot write tables (NOTES.md), so triage batches by hand: the ingest reader
reads events without acking them and triages each at once against the in-memory dedup state;
the batch closes ``batch_linger_s`` after its first event, or when it is full; while the
broker holds more than the batch has read and most of its errors merged, it stays open (up to
``batch_max_wait_s``: ``streams.batching.reading_a_backlog``, ``TriageBatch.merging``), so that
a storm is triaged in large batches, which is where writing each claim once per batch pays.
Closing writes each partition's dedup state once, with one of that partition's events
current (Faust takes a table write's changelog partition, and the RocksDB store its database,
from the current event), waits until it is on the broker, then sends the records the
decisions produced, then acks the events. A crash before the ack redelivers the whole batch,
and triage's decisions are deterministic.
"""

from dataclasses import dataclass, field

from faust.types import EventT, TopicT

from streams.batching import EventBatch


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: TopicT
    key: bytes
    value: bytes


@dataclass
class TriageBatch(EventBatch):
    """Begun in dedup ``epoch``: a batch that outlives a rebalance is dropped, not closed."""

    outbox: list[Outgoing] = field(default_factory=list)

    def add(self, event: EventT[bytes], outgoing: list[Outgoing]) -> None:
        """``event``, decided, and the records to send once the batch's state is written."""
        self.add_event(event)
        self.outbox += outgoing

    def merging(self) -> bool:
        """Whether most of its errors sent nothing: they merged into claims (or were
        duplicates), whose writes a larger batch shares. A new recovery sends two records and
        writes a claim of its own, so a batch of them gains nothing by growing, and each of
        its errors would wait for it: kept open while the broker held more than it had read,
        as it nearly always does while errors keep coming, triage's batches at 500 new
        recoveries/s stayed open 0.3-0.9 s on average, not 10 ms."""
        return len(self.outbox) < len(self)
