"""Reading a small compacted topic from its beginning, with no consumer group.

For what every worker reads whole (the audit trail, the control switches): no group means no
rebalance, no committed offsets and every partition asked for, on every worker.
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, TopicPartition


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
    await consumer.start()
    try:
        consumer.assign(list(tps))
        await consumer.seek_to_beginning(*tps)
        yield consumer, await consumer.end_offsets(list(tps))
    finally:
        await consumer.stop()
