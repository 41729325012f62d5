"""The events agent: the results topic in, Kubernetes Events out on the events topic.

It is its own agent on the results topic, beside status's projection, so a slow or failing
events write never holds up the table. Events are keyed by cluster like every record of the
pipeline, so everything about one involved object (a cluster's SyncTarget) passes through
one partition and the correlator on that partition's owner sees all of it.

The correlator's state is kept in memory, not in a table: client-go's recorder keeps the
same caches in its process, and losing them (a restart, a rebalance) costs only a fresh
Event whose count starts at 1 again; a changelogged table would cost a write per event for a
count that is advisory. A redelivered results record (at-least-once) raises a count once more.

Nothing is dropped silently: an Event the spam filter drops is counted in
``tmc_events_dropped_total{reason="spam_filter"}``, and logged once per object until one of
its Events is written again (a chronically failing object: about one line per refill).
"""

import logging

from faust.types import StreamT
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
        self.p.app.agent(self.p.topics.results, name="tmc-events")(self._publish)

    async def _publish(self, stream: StreamT[bytes]) -> None:
        host = self.p.settings.worker_id
        async for event in stream.events():
            msg = event.message
            try:
                record = self.p.results.decode(msg.value)
            except DecodeError:
                pass  # status dead-letters it (streams/status/agent.py)
            else:
                described = event_of(record, host)
                if described is not None:
                    correlated = self.correlator.correlate(described)
                    if correlated.verdict is Verdict.WRITE:
                        value = self.codec.encode(correlated.event)
                        await self.p.topics.events.send(key=msg.key, value=value)
                    else:
                        self._drop(correlated)

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
