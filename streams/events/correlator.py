"""client-go's EventCorrelator: the aggregator, then the logger, then the spam filter.

- The aggregator groups *similar* events: the same source, involved object, type and reason,
  whatever the message. Within ``interval`` (10 minutes) of the group's last event, once it
  has seen ``max_events`` (10) distinct messages, each further event becomes the group's one
  combined Event, "(combined from similar events): <message>".
- The logger makes a repeat of an identical event (the same key, message included, or the
  same combined Event) the Event already written, with its count raised, its first timestamp
  kept and its last one moved: a reader keeps the latest record per ``metadata.name``.
- The spam filter (streams/events/spam.py) drops what a source says about one object beyond
  a token bucket (25, one more every 5 minutes); the logger has counted it already, so the
  next Event written for that key carries it in its count.

The caches are LRUs of ``cache_size`` keys, as in client-go, so memory stays bounded. Time is
the events' own (their last timestamp), so a replay correlates as the first pass did.
"""

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schemas.records import RecoveryEvent
from streams.events.lru import CACHE_SIZE, Lru
from streams.events.shape import event_name
from streams.events.spam import SpamFilter, Verdict

COMBINED = "(combined from similar events): "
MAX_EVENTS = 10
INTERVAL = timedelta(minutes=10)


@dataclass
class _Similar:
    messages: set[str] = field(default_factory=set)
    last: datetime | None = None


@dataclass(frozen=True)
class _Seen:
    name: str
    count: int
    first: datetime
    last: datetime


@dataclass(frozen=True)
class Correlated:
    """The Event to write (``verdict`` WRITE), or the one the spam filter dropped."""

    event: RecoveryEvent
    verdict: Verdict


def spam_key(event: RecoveryEvent) -> tuple[object, ...]:
    """client-go's getSpamKey: the source and the involved object."""
    obj, source = event.involved_object, event.source
    return (source.component, source.host, obj.kind, obj.namespace, obj.name, obj.uid,
            obj.api_version)  # fmt: skip


def _similar_key(event: RecoveryEvent) -> tuple[object, ...]:
    return (*spam_key(event), event.type, event.reason)


class EventCorrelator:
    def __init__(
        self,
        max_events: int = MAX_EVENTS,
        interval: timedelta = INTERVAL,
        cache_size: int = CACHE_SIZE,
        spam: SpamFilter | None = None,
    ) -> None:
        """``spam``: client-go's defaults (streams/events/spam.py) unless given."""
        self.max_events, self.interval = max_events, interval
        self.spam = spam or SpamFilter(cache_size=cache_size)
        self._similar: Lru[tuple[object, ...], _Similar] = Lru(cache_size)
        self._seen: Lru[tuple[object, ...], _Seen] = Lru(cache_size)

    def correlate(self, event: RecoveryEvent) -> Correlated:
        """The Event to write for ``event`` (itself, or the one it repeats, count raised), or
        that the spam filter drops it."""
        aggregated, key = self._aggregate(event)
        seen = self._seen.get(key)
        if seen is not None:
            # Recoveries end concurrently, so their records may reach the topic a millisecond
            # out of time order: the span only ever widens.
            aggregated = dataclasses.replace(
                aggregated,
                metadata=dataclasses.replace(aggregated.metadata, name=seen.name),
                count=seen.count + 1,
                first_timestamp=min(seen.first, aggregated.first_timestamp),
                last_timestamp=max(seen.last, aggregated.last_timestamp),
            )
        name = aggregated.metadata.name
        first, last = aggregated.first_timestamp, aggregated.last_timestamp
        self._seen.put(key, _Seen(name, aggregated.count, first, last))
        return Correlated(aggregated, self.spam.admit(spam_key(aggregated), last))

    def _aggregate(self, event: RecoveryEvent) -> tuple[RecoveryEvent, tuple[object, ...]]:
        similar_key = _similar_key(event)
        now = event.last_timestamp
        similar = self._similar.get(similar_key)
        if similar is None or (similar.last is not None and now - similar.last > self.interval):
            similar = _Similar()
            self._similar.put(similar_key, similar)
        similar.messages.add(event.message)
        similar.last = now
        if len(similar.messages) < self.max_events:
            return event, (*similar_key, event.message)
        similar.messages.pop()  # bounded: the next distinct message is combined too
        combined = dataclasses.replace(
            event,
            metadata=dataclasses.replace(
                event.metadata, name=event_name(event.involved_object, now, event.reason)
            ),
            message=COMBINED + event.message,
        )
        return combined, similar_key
