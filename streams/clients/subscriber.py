"""Following recovery outcomes on ``tmc.recovery.results``.

A component that waits for a connectivity recovery before retrying its own operation subscribes
for its cluster and reads until a terminal state arrives. Without a group the subscriber reads
the partitions itself (only its clusters' when it has a cluster filter, since results are keyed by
cluster); with one, the group shares them and commits its progress.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Self

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from schemas.codec import DecodeError, RecordCodec, SchemaRegistryClient
from schemas.records import RecoveryResult, RecoveryState
from streams.clients.errors import SubscribeError
from streams.partitioning import java_partition
from streams.topology import TOPOLOGY

DEFAULT_RESULTS_TOPIC = TOPOLOGY.entry("results").default

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ResultFilter:
    """Which results to yield; an empty set lets everything through."""

    clusters: frozenset[str] = frozenset()
    logical_clusters: frozenset[str] = frozenset()
    strategies: frozenset[str] = frozenset()
    states: frozenset[RecoveryState] = frozenset()
    recovery_ids: frozenset[str] = frozenset()
    event_ids: frozenset[str] = frozenset()
    """The triggering error's event id, or one merged into the recovery (as far as the record
    carries them: merges that arrive while a recovery runs reach its status row, not its
    results, so :class:`~streams.clients.RecoveryTracker` asks the API for those)."""

    def may_match_key(self, key: bytes | None) -> bool:
        """Whether a record keyed ``key`` (its cluster) is worth decoding at all."""
        return not self.clusters or (
            key is not None and key.decode(errors="replace") in self.clusters
        )

    def matches(self, result: RecoveryResult) -> bool:
        cluster = result.context.cluster_name or result.error.cluster_name
        logical = result.context.logical_cluster or result.error.logical_cluster
        return (
            _allows(self.clusters, cluster)
            and _allows(self.logical_clusters, logical)
            and _allows(self.strategies, result.strategy)
            and _allows(self.states, result.state)
            and _allows(self.recovery_ids, result.id)
            and (not self.event_ids or not self.event_ids.isdisjoint(_event_ids(result)))
        )


def _event_ids(result: RecoveryResult) -> tuple[str | None, ...]:
    return (result.error.event_id, *result.merged_error_ids)


def _allows(allowed: frozenset[str] | frozenset[RecoveryState], value: str | None) -> bool:
    return not allowed or value in allowed


async def assign_every_partition(consumer: AIOKafkaConsumer, topic: str) -> set[TopicPartition]:
    """Assign ``topic``'s partitions to a consumer without a group, once it knows them.

    aiokafka signals a group-less assignment to nobody, so the caller bounds this wait.
    """
    consumer.subscribe([topic])
    while not consumer.assignment():  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    return set(consumer.assignment())


class _Assigned(ConsumerRebalanceListener):  # type: ignore[misc]
    """Pins each newly assigned partition's start position, then signals the first assignment."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.first = asyncio.Event()
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        for tp in assigned:
            await self._consumer.position(tp)
        self.first.set()


class ResultSubscriber:
    """``async with ResultSubscriber(bootstrap, clusters={"edge-1"}) as s: async for r in s``.

    ``from_beginning`` picks where a reader without committed offsets starts: the earliest
    retained result, or (the default) the first result published after ``__aenter__`` returns.
    ``since`` (without a group) starts at the first result published at or after that time, so a
    reader that opens late still sees what followed its cause. Records that do not decode are
    logged, counted in ``undecodable`` and skipped.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        topic: str = DEFAULT_RESULTS_TOPIC,
        group_id: str | None = None,
        from_beginning: bool = False,
        clusters: Iterable[str] = (),
        logical_clusters: Iterable[str] = (),
        strategies: Iterable[str] = (),
        states: Iterable[RecoveryState] = (),
        recovery_ids: Iterable[str] = (),
        event_ids: Iterable[str] = (),
        since: datetime | None = None,
        registry: SchemaRegistryClient | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        self.topic = topic
        self.filter = ResultFilter(
            frozenset(clusters),
            frozenset(logical_clusters),
            frozenset(strategies),
            frozenset(states),
            frozenset(recovery_ids),
            frozenset(event_ids),
        )
        if since is not None and group_id is not None:
            raise ValueError("since is for a reader without a group: a group resumes its offsets")
        self.undecodable = 0
        self._bootstrap = bootstrap_servers
        self._group_id = group_id
        self._offset_reset = "earliest" if from_beginning else "latest"
        self._since = since
        self._codec = RecordCodec(RecoveryResult, registry=registry)
        self._start_timeout = start_timeout
        self._consumer: AIOKafkaConsumer | None = None

    async def __aenter__(self) -> Self:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=self._group_id,
            auto_offset_reset=self._offset_reset,
            enable_auto_commit=self._group_id is not None,
        )
        try:
            async with asyncio.timeout(self._start_timeout):
                await consumer.start()
                await self._assign(consumer)
        except (TimeoutError, KafkaError, OSError) as exc:
            await consumer.stop()
            raise SubscribeError(
                f"cannot follow {self.topic} on {self._bootstrap}: {exc!r}"
            ) from exc
        except SubscribeError:
            await consumer.stop()
            raise
        self._consumer = consumer
        return self

    async def _assign(self, consumer: AIOKafkaConsumer) -> None:
        """Subscribe, and return once the start position of every partition is pinned."""
        if self.topic not in await consumer.topics():
            raise SubscribeError(f"topic {self.topic} does not exist on {self._bootstrap}")
        if self._group_id is not None:
            listener = _Assigned(consumer)
            consumer.subscribe([self.topic], listener=listener)
            await listener.first.wait()
            return
        every = await assign_every_partition(consumer, self.topic)
        partitions = self._partitions({tp.partition for tp in every})
        consumer.pause(*(every - set(partitions)))  # other clusters' results
        if self._since is not None:
            await self._seek_to_since(consumer, partitions)
        for tp in partitions:
            await consumer.position(tp)

    def _partitions(self, numbers: set[int]) -> list[TopicPartition]:
        """Every partition, or only those the filter's clusters are keyed to."""
        if self.filter.clusters:
            numbers = {java_partition(c.encode(), len(numbers)) for c in self.filter.clusters}
        return [TopicPartition(self.topic, n) for n in sorted(numbers)]

    async def _seek_to_since(
        self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
    ) -> None:
        assert self._since is not None
        stamp = int(self._since.timestamp() * 1000)
        found = await consumer.offsets_for_times(dict.fromkeys(partitions, stamp))
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            at = found.get(tp)
            consumer.seek(tp, ends[tp] if at is None else at.offset)

    async def __aexit__(self, *exc_info: object) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> RecoveryResult:
        if self._consumer is None:
            raise SubscribeError("the subscriber is not started: use it in 'async with'")
        while True:
            message = await self._consumer.getone()
            if message.value is None or not self.filter.may_match_key(message.key):
                continue
            try:
                result = await self._codec.decode_async(message.value)
            except DecodeError as exc:
                self.undecodable += 1
                log.warning(
                    "skipping %s[%d]@%d: %s", message.topic, message.partition, message.offset, exc
                )
                continue
            if self.filter.matches(result):
                return result
