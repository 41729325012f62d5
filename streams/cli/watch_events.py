"""The Kubernetes Events `tmc-recovery watch` shows beside the results, read straight from
the events topic (written by streams/events/) and filtered as the results are.

An Event says what it can about its recovery: its cluster (the involved SyncTarget), its
strategy and recovery id (annotations, streams/events/shape.py) and, by its reason, the state
it marks. It carries no logical cluster and no event ids, so under those filters an Event is
judged by its recovery's results instead (:class:`Joined`).
"""

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from schemas.codec import DecodeError, RecordCodec
from schemas.records import RecoveryEvent, RecoveryResult, RecoveryState
from streams.clients import ResultFilter, SubscribeError
from streams.clients.subscriber import assign_every_partition
from streams.events.shape import (
    ANNOTATION,
    CANCELLED,
    COMPLETED,
    FAILED,
    STARTED,
    SYNC_TARGET_API,
)
from streams.partitioning import java_partition

log = logging.getLogger(__name__)

STATE_OF_REASON = {
    STARTED: RecoveryState.IN_PROGRESS,
    COMPLETED: RecoveryState.COMPLETED,
    FAILED: RecoveryState.ESCALATED,
    CANCELLED: RecoveryState.CANCELLED,
}
V = TypeVar("V")
START_TIMEOUT_S = 30.0
REMEMBERED = 10_000  # recoveries Joined keeps in mind, shown or with Events held


def recovery_of(event: RecoveryEvent) -> str | None:
    return event.metadata.annotations.get(f"{ANNOTATION}recovery-id")


def event_matches(wanted: ResultFilter, event: RecoveryEvent) -> bool:
    """Whether ``event`` passes the filters it can be checked against itself."""
    obj, notes = event.involved_object, event.metadata.annotations
    checks: list[tuple[frozenset[Any], object]] = [
        (wanted.clusters, obj.name if obj.api_version == SYNC_TARGET_API else None),
        (wanted.strategies, notes.get(f"{ANNOTATION}strategy")),
        (wanted.states, STATE_OF_REASON.get(event.reason)),
        (wanted.recovery_ids, recovery_of(event)),
    ]
    return all(not allowed or value in allowed for allowed, value in checks)


class Joined:
    """Under a logical cluster or event id filter, an Event is shown once a result of its
    recovery has been, and held until then: the two topics are read side by side, so the
    Event may be read first although it was written after the result."""

    def __init__(self, wanted: ResultFilter) -> None:
        self.needed = bool(wanted.logical_clusters or wanted.event_ids)
        self._shown: OrderedDict[str, None] = OrderedDict()
        self._held: OrderedDict[str, list[RecoveryEvent]] = OrderedDict()

    def result(self, result: RecoveryResult) -> list[RecoveryEvent]:
        """A result shown: the Events of its recovery held so far, now due."""
        _remember(self._shown, result.id, None)
        return self._held.pop(result.id, [])

    def event(self, event: RecoveryEvent) -> list[RecoveryEvent]:
        """``event`` if it is due now, else nothing (held)."""
        recovery = recovery_of(event)
        if not self.needed or recovery in self._shown:
            return [event]
        if recovery is not None:
            _remember(self._held, recovery, [*self._held.get(recovery, []), event])
        return []


def _remember(memory: OrderedDict[str, V], key: str, value: V) -> None:
    memory[key] = value
    memory.move_to_end(key)
    while len(memory) > REMEMBERED:
        memory.popitem(last=False)


@asynccontextmanager
async def read_events(
    bootstrap: str, topic: str, wanted: ResultFilter, *, from_beginning: bool
) -> AsyncIterator[AsyncGenerator[RecoveryEvent]]:
    """``async with read_events(...) as events: async for event in events``: the events topic
    without a group, from the oldest retained Event or from those written after it opened,
    only the filtered clusters' partitions (Events are keyed by cluster)."""
    reset = "earliest" if from_beginning else "latest"
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, auto_offset_reset=reset, enable_auto_commit=False
    )
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            await consumer.start()
            every = await _every_partition(consumer, topic, bootstrap)
    except (TimeoutError, KafkaError, OSError) as exc:
        await consumer.stop()
        raise SubscribeError(f"cannot follow {topic} on {bootstrap}: {exc!r}") from exc
    try:
        numbers = {java_partition(c.encode(), len(every)) for c in wanted.clusters}
        read = {tp for tp in every if not numbers or tp.partition in numbers}
        consumer.pause(*(every - read))
        for tp in read:
            await consumer.position(tp)  # pinned: what is written from now on is read
        yield _matching(consumer, wanted)
    finally:
        await consumer.stop()


async def _every_partition(
    consumer: AIOKafkaConsumer, topic: str, bootstrap: str
) -> set[TopicPartition]:
    if topic not in await consumer.topics():
        await consumer.stop()
        raise SubscribeError(f"topic {topic} does not exist on {bootstrap}")
    return await assign_every_partition(consumer, topic)


async def _matching(
    consumer: AIOKafkaConsumer, wanted: ResultFilter
) -> AsyncGenerator[RecoveryEvent]:
    codec = RecordCodec(RecoveryEvent)
    async for message in consumer:
        if message.value is not None and wanted.may_match_key(message.key):
            try:
                event = await codec.decode_async(message.value)
            except DecodeError as exc:
                log.warning("skipping %s@%d: %s", message.topic, message.offset, exc)
            else:
                if event_matches(wanted, event):
                    yield event


def event_view(event: RecoveryEvent) -> dict[str, Any]:
    """The Event as Kubernetes writes it (core/v1, camelCase), for --json."""
    meta, obj = event.metadata, event.involved_object

    def stamp(at: datetime) -> str:
        return at.isoformat().replace("+00:00", "Z")

    involved = {"kind": obj.kind, "name": obj.name, "namespace": obj.namespace,
                "apiVersion": obj.api_version, "uid": obj.uid}  # fmt: skip
    return {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {"name": meta.name, "namespace": meta.namespace,
                     "labels": dict(meta.labels), "annotations": dict(meta.annotations)},
        "involvedObject": {k: v for k, v in involved.items() if v is not None},
        "reason": event.reason,
        "message": event.message,
        "type": event.type.value,
        "count": event.count,
        "firstTimestamp": stamp(event.first_timestamp),
        "lastTimestamp": stamp(event.last_timestamp),
        "source": {"component": event.source.component, "host": event.source.host},
    }  # fmt: skip
