"""Where a topic ends and where the group has committed to: what catching up is measured by.

Faust's own ``highwaters`` answers only after messages were fetched under exactly-once (it reads
the last stable offset from fetch responses), which is too late at assignment time. So the
worker asks the broker directly: end offsets through a group-less consumer whose isolation
level matches the worker's (read_committed gives the last stable offset), and committed offsets
through the admin API, which reads them without joining the group.
"""

from collections.abc import Iterable
from typing import NamedTuple

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


class Span(NamedTuple):
    start: int
    end: int
    committed: int | None  # None, or -1, when the group has committed nothing there


class OffsetProbe:
    def __init__(self, bootstrap_servers: str, group_id: str, exactly_once: bool) -> None:
        self._bootstrap = bootstrap_servers
        self._group_id = group_id
        self._isolation = "read_committed" if exactly_once else "read_uncommitted"
        self._clients: tuple[AIOKafkaConsumer, AIOKafkaAdminClient] | None = None

    async def _started(self) -> tuple[AIOKafkaConsumer, AIOKafkaAdminClient]:
        """Created on first use: aiokafka clients belong to the running loop."""
        if self._clients is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                group_id=None,
                enable_auto_commit=False,
                isolation_level=self._isolation,
            )
            admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
            await consumer.start()
            try:
                await admin.start()
            except BaseException:
                await consumer.stop()
                raise
            self._clients = (consumer, admin)
        return self._clients

    async def measure(
        self, topic: str, partitions: Iterable[int]
    ) -> tuple[dict[int, int], dict[int, int | None]]:
        """(end offset, committed offset or None) of each partition of ``topic``."""
        consumer, admin = await self._started()
        tps = [TopicPartition(topic, p) for p in partitions]
        ends = await consumer.end_offsets(tps)
        committed = await admin.list_consumer_group_offsets(self._group_id, partitions=tps)
        return (
            {tp.partition: end for tp, end in ends.items()},
            {tp.partition: (committed[tp].offset if tp in committed else None) for tp in tps},
        )

    async def spans(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, Span]:
        """Where each partition (of any topics) starts and ends, and the group's commit."""
        consumer, admin = await self._started()
        tps = list(tps)
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        committed = await admin.list_consumer_group_offsets(self._group_id, partitions=tps)
        return {
            tp: Span(starts[tp], ends[tp], committed[tp].offset if tp in committed else None)
            for tp in tps
        }

    async def close(self) -> None:
        if self._clients is not None:
            consumer, admin = self._clients
            self._clients = None
            await consumer.stop()
            await admin.close()
