"""The worker's fetches linger at the broker only while they bring records (a real broker)."""

from collections.abc import Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.batch_delivery import BUSY_FETCH_MIN_BYTES, BUSY_FETCH_WAIT_S, linger_while_busy
from tests.execution.support import eventually

pytestmark = pytest.mark.kafka

IDLE = (100, 1)
BUSY = (int(BUSY_FETCH_WAIT_S * 1000), BUSY_FETCH_MIN_BYTES)


async def test_a_fetch_after_records_lingers_and_one_after_none_does_not(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory("linger")
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, fetch_max_wait_ms=IDLE[0],
        fetch_min_bytes=IDLE[1], auto_offset_reset="earliest",
    )  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await consumer.start()
    await producer.start()
    try:
        fetcher = consumer._fetcher
        linger_while_busy(fetcher)
        adapting = fetcher._proc_fetch_request
        fetches: list[tuple[tuple[int, int], bool]] = []  # (wait ms, min bytes), brought records

        async def noting(*args: Any) -> bool:
            request = args[2]
            brought: bool = await adapting(*args)
            fetches.append(((request._max_wait_ms, request._min_bytes), brought))
            return brought

        fetcher._proc_fetch_request = noting
        await eventually(lambda: len(fetches) >= 2)  # an empty topic: idle fetches
        await producer.send_and_wait(topic, b"an error")
        assert sum(len(r) for r in (await consumer.getmany(timeout_ms=10_000)).values()) == 1
        first_with_records = next(i for i, (_, brought) in enumerate(fetches) if brought)
        await eventually(lambda: len(fetches) >= first_with_records + 3)
    finally:
        await producer.stop()
        await consumer.stop()
    settings = [used for used, _ in fetches]
    assert set(settings[: first_with_records + 1]) == {IDLE}, "until records come: no linger"
    assert settings[first_with_records + 1] == BUSY, "the fetch after records lingers"
    assert settings[first_with_records + 2] == IDLE, "and the one after an empty fetch does not"
