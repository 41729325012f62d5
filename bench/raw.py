"""The raw aiokafka consume->produce passthrough: the ceiling every pipeline benchmark is
measured against, in the same run and on the same broker as the figure it sits beside.

Shared by bench.storm and bench.latency so both compare with one and the same baseline.
"""

import asyncio
import time
import uuid
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import NewTopic

from schemas.records import TMCError
from streams.partitioning import partition_for
from streams.testing.harness import ERRORS, create_topics

#: Partitions of every benchmark topic (the worker's and the baseline's alike).
PARTITIONS = 6

Records = list[tuple[bytes, bytes]]


def encoded(errors: Iterable[TMCError]) -> Records:
    """(key, value) as the emitter would produce each error."""
    return [(error.kafka_key(), ERRORS.encode(error)) for error in errors]


async def produce_all(bootstrap: str, topic: str, records: Records) -> int:
    """Produce with aiokafka; returns how many records landed off their key's murmur2 partition."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in records]
        sent = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return sum(
        meta.partition != partition_for(key, PARTITIONS)
        for meta, (key, _) in zip(sent, records, strict=True)
    )


async def raw_passthrough(bootstrap: str, records: Records) -> float:
    """Records/s of consume -> produce of the same bytes, with commits, like a worker."""
    run = uuid.uuid4().hex[:8]  # fresh topics and group for each call
    source, sink = f"raw.in.{run}", f"raw.out.{run}"
    await create_topics(bootstrap, [NewTopic(t, PARTITIONS, 1) for t in (source, sink)])
    consumer = AIOKafkaConsumer(
        source, bootstrap_servers=bootstrap, group_id=f"raw-{run}",
        auto_offset_reset="earliest", enable_auto_commit=False,
    )  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await consumer.start()
    await producer.start()
    try:
        await consumer.getmany(timeout_ms=2000)  # join the group before the clock starts
        started = time.perf_counter()
        feeder = asyncio.create_task(produce_all(bootstrap, source, records))
        moved = 0
        while moved < len(records):
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            for messages in batch.values():
                for message in messages:
                    await producer.send(sink, message.value, key=message.key)
                moved += len(messages)
            if batch:
                await producer.flush()
                await consumer.commit()
        await feeder
        return len(records) / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()
