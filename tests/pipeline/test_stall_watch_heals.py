"""The stall watch on a real Faust consumer and the real broker: a stalled partition heals.

Faust's bug cannot be summoned on demand, so the test puts the consumer into one state it
has been seen in: a partition assigned and not paused, that Faust never asks aiokafka for.
Records sent there are not delivered until the watch finds the stall and seeks it back;
then every record arrives once, and the partition that never stalled is left alone. An agent
that holds a record is not a stall: the watch only reports what it holds.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import faust
import pytest
from aiokafka import AIOKafkaProducer
from faust.types import TP
from prometheus_client import CollectorRegistry

from streams.stall_watch import StallWatch
from streams.status.offset_probe import OffsetProbe

pytestmark = pytest.mark.kafka


async def started_app(
    bootstrap: str, topic: str, tmp_path: Path, release: asyncio.Event | None = None
) -> tuple[faust.App, Any]:
    """A one-agent app; with ``release``, the agent holds the first record until it is set."""
    group = f"stall-{uuid.uuid4().hex[:8]}"
    app = faust.App(
        group, broker=f"kafka://{bootstrap}", store="memory://", datadir=str(tmp_path),
        topic_allow_declare=False, topic_disable_leader=True, web_enabled=False,
        consumer_auto_offset_reset="earliest", broker_commit_interval=0.5,
    )  # fmt: skip
    delivered: list[tuple[int, int]] = []

    @app.agent(app.topic(topic, value_serializer="raw", key_serializer="raw"))
    async def consume(stream: Any) -> AsyncIterator[None]:
        async for event in stream.events():
            if release is not None:
                await release.wait()
            delivered.append((event.message.partition, event.message.offset))
            yield None

    await asyncio.wait_for(app.start(), 60)
    return app, (delivered, group)


async def send(bootstrap: str, topic: str, partition: int, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for n in range(count):
            await producer.send_and_wait(topic, b"x", key=b"k%d" % n, partition=partition)
    finally:
        await producer.stop()


async def until(predicate: Any, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_a_partition_faust_never_fetches_is_found_and_sought_back(
    kafka_bootstrap: str, topic_factory: Any, tmp_path: Path
) -> None:
    topic = topic_factory("stall", partitions=2)
    app, (delivered, group) = await started_app(kafka_bootstrap, topic, tmp_path)
    probe = OffsetProbe(kafka_bootstrap, group, exactly_once=False)
    try:
        await until(lambda: len(app.consumer.assignment()) == 2 and not app.rebalancing, 60)
        await send(kafka_bootstrap, topic, 0, 2)
        await send(kafka_bootstrap, topic, 1, 2)
        await until(lambda: len(delivered) == 4, 30)

        stuck = TP(topic, 0)
        cast(Any, app.consumer)._active_partitions.discard(stuck)  # Faust's state in the bug
        await send(kafka_bootstrap, topic, 0, 3)
        await send(kafka_bootstrap, topic, 1, 1)
        await until(lambda: (1, 2) in delivered, 30)
        await asyncio.sleep(1.0)
        assert not [d for d in delivered if d[0] == 0 and d[1] >= 2], "delivered, not stalled"

        watch = StallWatch(app, probe, 1.0, False, time.monotonic, CollectorRegistry())
        assert await watch.check() == []  # the first round only measures
        await asyncio.sleep(1.1)
        assert await watch.check() == [stuck]
        await until(lambda: len(delivered) == 8, 30)
        assert sorted(delivered) == [(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 0), (1, 1), (1, 2)]
        await asyncio.sleep(1.1)
        assert await watch.check() == []
    finally:
        await probe.close()
        await asyncio.wait_for(app.stop(), 60)


async def test_an_agent_holding_a_record_is_reported_and_never_sought(
    kafka_bootstrap: str, topic_factory: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    topic = topic_factory("held", partitions=1)
    release = asyncio.Event()
    app, (delivered, group) = await started_app(kafka_bootstrap, topic, tmp_path, release)
    probe = OffsetProbe(kafka_bootstrap, group, exactly_once=False)
    try:
        await until(lambda: len(app.consumer.assignment()) == 1 and not app.rebalancing, 60)
        await send(kafka_bootstrap, topic, 0, 3)
        consumer = cast(Any, app.consumer)
        await until(lambda: any(m.topic == topic for m in consumer._unacked_messages), 30)

        watch = StallWatch(app, probe, 1.0, False, time.monotonic, CollectorRegistry())
        assert await watch.check() == []
        await asyncio.sleep(1.1)
        assert await watch.check() == [], "an agent holding a record is not stalled"
        held = [r.getMessage() for r in caplog.records if "not sought" in r.getMessage()]
        assert held
        assert "3 records waiting from offset 0" in held[0]
        assert "1 of partition 0 from offset 0" in held[0]

        release.set()
        await until(lambda: len(delivered) == 3, 30)
        assert delivered == [(0, 0), (0, 1), (0, 2)]
    finally:
        await probe.close()
        await asyncio.wait_for(app.stop(), 60)
