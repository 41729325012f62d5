"""Produce and consume through the session's real broker."""

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.conftest import TopicFactory

pytestmark = pytest.mark.kafka


async def test_produce_then_consume_in_order(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory("roundtrip", partitions=3)
    sent = [(f"cluster-{i % 3}".encode(), uuid.uuid4().bytes) for i in range(30)]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for key, value in sent:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    received: list[tuple[bytes, bytes]] = []
    try:
        while len(received) < len(sent):
            batch = await consumer.getmany(timeout_ms=10_000)
            assert batch, f"no records within 10 s after {len(received)}"
            for records in batch.values():
                received.extend((r.key, r.value) for r in records if r.key and r.value)
    finally:
        await consumer.stop()

    assert sorted(received) == sorted(sent)
    for key in {k for k, _ in sent}:  # per-key order is kept by key partitioning
        assert [v for k, v in received if k == key] == [v for k, v in sent if k == key]
