"""Reading a small compacted topic from its beginning, with no consumer group.

For what every worker reads whole (the audit trail, the control switches): no group means no
rebalance, no committed offsets and every partition asked for, on every worker.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, TopicPartition

log = logging.getLogger(__name__)

#: One poll of an open reader: the consumer, and where each partition ended when it opened.
Poll = Callable[[AIOKafkaConsumer, dict[TopicPartition, int]], Awaitable[None]]


@asynccontextmanager
async def from_start(
    bootstrap: str, tps: Sequence[TopicPartition]
) -> AsyncIterator[tuple[AIOKafkaConsumer, dict[TopicPartition, int]]]:
    """A consumer assigned ``tps`` at their beginning, and where each ended when it opened
    (committed records only: under exactly-once, aborted ones are never read)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        isolation_level="read_committed",
    )  # fmt: skip
    try:
        await consumer.start()
        consumer.assign(list(tps))
        await consumer.seek_to_beginning(*tps)
        yield consumer, await consumer.end_offsets(list(tps))
    finally:
        await consumer.stop()


async def follow(bootstrap: str, tps: Sequence[TopicPartition], poll: Poll, what: str) -> None:
    """``poll`` a reader of ``tps`` over and over, for as long as the worker runs (its task is
    cancelled at stop). A broker that cannot be reached is tried again with backoff, never a
    crash: the reader reopens from the beginning, so ``poll`` sees the whole topic again."""
    delay_s = 0.5
    while True:
        try:
            async with from_start(bootstrap, tps) as (consumer, ends):
                while True:
                    await poll(consumer, ends)
        except Exception as exc:
            log.warning("reading the %s failed (%s); retrying in %gs", what, exc, delay_s)
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, 10.0)
