"""The events agent: the results topic in, Kubernetes Events out on the events topic.

The consumer hands each results record to triage's endings, status's projection, then here
(``DirectRoutes``, streams/batch_delivery.py). A failed Events write is counted
(``reason="send_failed"``) and logged, and the delivery goes on; a write waits only while the
producer's buffer is full, which holds up the table's own writes as well. Events are keyed by
cluster like every record of the pipeline, so everything about one involved object (a
cluster's SyncTarget) passes through one partition and the correlator on that partition's
owner sees all of it.

The correlator's state is kept in memory, not in a table: client-go's recorder keeps the
same caches in its process, and losing them (a restart, a rebalance) costs only a fresh
Event whose count starts at 1 again; a changelogged table would cost a write per event for a
count that is advisory. A redelivered results record (at-least-once) raises a count once more.

Nothing is dropped silently: an Event the spam filter drops is counted in
``tmc_events_dropped_total{reason="spam_filter"}``, and logged once per object until one of
its Events is written again (a chronically failing object: about one line per refill).
"""

import logging

from faust.types import EventT
from prometheus_client import Counter

from schemas.codec import DecodeError, RecordCodec
from schemas.records import RecoveryEvent
from streams.context import Shared
from streams.events.correlator import Correlated, EventCorrelator
from streams.events.shape import event_of
from streams.events.spam import SpamFilter, Verdict

log = logging.getLogger(__name__)


class EventsAgent:
    def __init__(self, pipeline: Shared) -> None:
        self.p = pipeline
        self.codec = RecordCodec(RecoveryEvent)
        settings = pipeline.settings.events
        spam = SpamFilter(settings.spam_burst, settings.spam_refill_s)
        self.correlator = EventCorrelator(spam=spam)
        self.dropped = Counter(
            "tmc_events_dropped_total", "Kubernetes Events not written, by why.",
            ["reason"], registry=pipeline.metrics.registry,
        )  # fmt: skip

    def register(self) -> None:
        self.p.read_directly(self.p.topics.results, self._publish)

    async def _publish(self, event: EventT[bytes]) -> None:
        """A results record, handed over by the consumer after status and triage took it."""
        msg = event.message
        try:
            record = self.p.results.decode(msg.value or b"")
        except DecodeError:
            pass  # status dead-letters it (streams/status/agent.py)
        else:
            described = event_of(record, self.p.settings.worker_id)
            if described is not None:
                correlated = self.correlator.correlate(described)
                if correlated.verdict is Verdict.WRITE:
                    await self._write(msg.key, correlated.event)
                else:
                    self._drop(correlated)
        event.ack()

    async def _write(self, key: bytes | None, described: RecoveryEvent) -> None:
        """Send the Event; a failed send is counted and logged, and the delivery goes on."""
        try:
            await self.p.topics.events.send(key=key, value=self.codec.encode(described))
        except Exception as exc:
            self.dropped.labels("send_failed").inc()
            obj = described.involved_object
            log.error("an Event about %s %s was not sent: %r", obj.kind, obj.name, exc)

    def _drop(self, correlated: Correlated) -> None:
        self.dropped.labels("spam_filter").inc()
        if correlated.verdict is Verdict.DROP:
            obj, spam = correlated.event.involved_object, self.correlator.spam
            log.warning(
                "events about %s %s dropped by the spam filter (burst %d, one more every %gs; "
                "events.spam_burst, events.spam_refill_s): counted in tmc_events_dropped_total, "
                "not logged again until one is written",
                obj.kind, obj.name, spam.burst, spam.refill_s,
            )  # fmt: skip
