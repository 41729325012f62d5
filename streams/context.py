"""What every agent shares: the app, its topics and tables, codecs, metrics and clock."""

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

import faust
from faust.types import TopicT

from schemas.codec import RecordCodec
from schemas.records import ClusterStatus, RecoveryResult, TMCError, whole_millis
from strategies.registry import StrategyRegistry
from streams.batch_delivery import Handler
from streams.config import ServiceSettings
from streams.metrics import Metrics
from streams.out_of_band import OutOfBand
from streams.status.catchup import CatchUp
from streams.status.reads import StatusReads
from streams.tables import Tables
from streams.topology import KafkaTopics
from streams.transport import WorkerTransport
from streams.triage.dedup import Dedup, DedupState

Headers = Sequence[tuple[str, bytes]] | Mapping[str, bytes]


def header_pairs(headers: Headers | None) -> list[tuple[str, bytes]]:
    """Faust gives headers as a list of pairs or a mapping; always pairs here."""
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)


def now_ms(clock: Callable[[], float]) -> datetime:
    """``clock``'s time truncated to the millisecond, as timestamp-millis keeps it."""
    return whole_millis(datetime.fromtimestamp(clock(), UTC))


@dataclass
class Shared:
    app: faust.App
    settings: ServiceSettings
    topics: KafkaTopics
    tables: Tables  # reached only by each table's owner (tests/streams/test_single_writer.py)
    reads: StatusReads  # the status and cluster tables, read-only, for every stage
    guard_rows: Mapping[str, bytes]  # triage's guards table, read-only (for the API)
    strategies: StrategyRegistry
    errors: RecordCodec[TMCError]
    results: RecordCodec[RecoveryResult]
    summaries: RecordCodec[ClusterStatus]
    metrics: Metrics
    schema_registry_configured: bool
    catchup: CatchUp
    dedup_state: DedupState
    out_of_band: OutOfBand
    clock: Callable[[], float] = field(default=time.time)

    def dedup(self, partition: int, cluster: str) -> Dedup:
        """The dedup state of ``cluster``'s rows on ``partition``."""
        return self.dedup_state.partition(partition).for_cluster(cluster)

    def read_directly(self, topic: TopicT, handler: Handler) -> None:
        """``handler`` takes each record of ``topic`` straight from the consumer's fetched
        batch, with no Faust agent (streams/batch_delivery.py, ``DirectRoutes``)."""
        cast(WorkerTransport, self.app.transport).direct.add(topic, handler)

    def owned_partitions(self, topic: TopicT) -> set[int]:
        """Partitions of ``topic`` this worker owns now (co-partitioned: the same numbers
        for every cluster-keyed topic)."""
        name = topic.get_topic_name()
        return {tp.partition for tp in self.app.assignor.assigned_actives() if tp.topic == name}

    async def publish(self, record: RecoveryResult) -> None:
        """From inside an agent: sent when the current event is acked, before its commit."""
        await self.topics.results.send(key=record.kafka_key(), value=self.results.encode(record))

    async def publish_now(self, record: RecoveryResult) -> None:
        """From a background task (the executor): sent at once and acknowledged, out of band
        (streams/out_of_band.py), never attached to a stale event, which a task inherits from
        the agent that spawned it."""
        await self.out_of_band.send(
            self.topics.results, record.kafka_key(), self.results.encode(record)
        )
