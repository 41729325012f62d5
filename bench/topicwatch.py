"""Follow a topic in the background and note what arrives when: how the benchmarks see a
worker's output (its results, a raw member's echoes) without slowing it down."""

import asyncio
import contextlib
import time
from typing import Self

from aiokafka import AIOKafkaConsumer, TopicPartition


class TopicWatch:
    """Follows partitions of a topic from their end, in the background, noting when each
    record arrived (``seen``); a subclass says what a record means."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        self.bootstrap = bootstrap
        self.tps = [TopicPartition(topic, p) for p in range(partitions)]
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None)
        await consumer.start()
        consumer.assign(self.tps)
        await consumer.seek_to_end(*self.tps)
        for tp in self.tps:
            await consumer.position(tp)
        self._task = asyncio.create_task(self._follow(consumer))
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def on_record(self, value: bytes, now: float) -> None:
        raise NotImplementedError

    async def _follow(self, consumer: AIOKafkaConsumer) -> None:
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=200)
                now = time.monotonic()
                for records in batch.values():
                    for record in records:
                        self.on_record(record.value, now)
        finally:
            await consumer.stop()
