"""Records sent outside stream processing, each acknowledged before the call returns.

The executor's results and the API's commands, audit entries and switches are not the output
of a consumed record. Under at-least-once they go through Faust's producer. Under exactly-once
Faust sends every record inside the transaction of its partition, which commits only with
that partition's next consumed offsets; a record sent while nothing more is consumed there
would stay unseen by read_committed readers (the status projection among them) until then,
for good on a quiet partition. So under exactly-once they go through an idempotent producer
of their own, with the app's partitioner: visible once acknowledged, placed as Faust places
them. They need no transaction: the projection of results is idempotent, and a command or
an audit entry stands alone.
"""

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from faust.types import TopicT

from streams.config import KafkaSettings
from streams.partitioning import cluster_partitioner


class OutOfBand:
    def __init__(self, kafka: KafkaSettings) -> None:
        self._exactly_once = kafka.processing_guarantee == "exactly_once"
        self._bootstrap = kafka.bootstrap_servers
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()

    async def send(
        self,
        topic: TopicT,
        key: bytes,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """``value`` under ``key`` on ``topic`` (None: a tombstone), acknowledged by the broker."""
        if not self._exactly_once:
            sent = await topic.send(key=key, value=value, headers=list(headers), force=True)
            await sent
            return
        producer = await self._started()
        await producer.send_and_wait(topic.get_topic_name(), value, key=key, headers=list(headers))

    async def _started(self) -> AIOKafkaProducer:
        """Created on first use: aiokafka clients belong to the running loop."""
        async with self._starting:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self._bootstrap,
                    enable_idempotence=True,
                    acks="all",
                    partitioner=cluster_partitioner,
                )
                await producer.start()
                self._producer = producer
            return self._producer

    async def close(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()
