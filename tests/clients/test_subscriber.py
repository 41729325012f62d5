"""ResultSubscriber through a real broker: filters, start position, groups, bad records."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer

from schemas.codec import Framing, RecordCodec, SchemaRegistryClient
from schemas.records import RecoveryResult, RecoveryState
from streams.clients import ResultSubscriber, SubscribeError
from streams.testing.registry_stub import RegistryStub
from tests.clients.reference import avro_encode, produce, schema_text
from tests.conftest import TopicFactory
from tests.schemas.examples import recovery_result

pytestmark = pytest.mark.kafka

CODEC = RecordCodec(RecoveryResult)
S = RecoveryState


async def _publish(bootstrap: str, topic: str, *values: RecoveryResult | bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for value in values:
            if isinstance(value, bytes):
                await producer.send_and_wait(topic, value, key=b"edge-1")
            else:
                await producer.send_and_wait(topic, CODEC.encode(value), key=value.kafka_key())
    finally:
        await producer.stop()


async def _take(results: AsyncIterator[RecoveryResult], count: int) -> list[RecoveryResult]:
    taken: list[RecoveryResult] = []
    async with asyncio.timeout(20):
        async for result in results:
            taken.append(result)
            if len(taken) == count:
                break
    return taken


async def test_filters_by_cluster_logical_cluster_strategy_and_state(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory("results", partitions=3)
    wanted = [
        recovery_result("edge-1", state=S.COMPLETED, recovery_id="r1"),
        recovery_result("edge-2", state=S.ESCALATED, recovery_id="r4"),
    ]
    await _publish(
        kafka_bootstrap,
        topic,
        wanted[0],
        recovery_result("edge-1", state=S.IN_PROGRESS, recovery_id="r2"),
        recovery_result("edge-1", strategy="Generic", state=S.COMPLETED, recovery_id="r3"),
        wanted[1],
        recovery_result("edge-3", state=S.COMPLETED, recovery_id="r5"),
        recovery_result("edge-2", logical_cluster="root:x", state=S.FAILED, recovery_id="r6"),
    )
    async with ResultSubscriber(
        kafka_bootstrap,
        topic=topic,
        from_beginning=True,
        clusters={"edge-1", "edge-2"},
        logical_clusters={"root:edge"},
        strategies={"ClusterConnectivity"},
        states={S.COMPLETED, S.ESCALATED},
    ) as subscriber:
        got = await _take(subscriber, 2)
        await _publish(kafka_bootstrap, topic, recovery_result("edge-1", recovery_id="r7"))
        (later,) = await _take(subscriber, 1)
    assert sorted(r.id for r in got) == ["r1", "r4"]
    assert {r.id: r for r in got}["r1"] == wanted[0]
    assert later.id == "r7"


async def test_latest_skips_what_came_before_and_earliest_does_not(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory("results")
    await _publish(kafka_bootstrap, topic, recovery_result(recovery_id="before"))
    async with ResultSubscriber(kafka_bootstrap, topic=topic) as latest:
        await _publish(kafka_bootstrap, topic, recovery_result(recovery_id="after"))
        assert [r.id for r in await _take(latest, 1)] == ["after"]
    async with ResultSubscriber(kafka_bootstrap, topic=topic, from_beginning=True) as earliest:
        assert [r.id for r in await _take(earliest, 2)] == ["before", "after"]


async def test_since_starts_at_the_first_result_published_at_that_time(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory("results", partitions=3)
    await _publish(kafka_bootstrap, topic, recovery_result(recovery_id="before"))
    await asyncio.sleep(0.05)
    since = datetime.now(UTC)
    await asyncio.sleep(0.05)
    await _publish(
        kafka_bootstrap,
        topic,
        recovery_result("edge-1", recovery_id="after"),
        recovery_result("edge-2", recovery_id="elsewhere"),
        recovery_result("edge-1", recovery_id="later"),
    )
    async with ResultSubscriber(
        kafka_bootstrap, topic=topic, since=since, clusters={"edge-1"}
    ) as subscriber:
        assert [r.id for r in await _take(subscriber, 2)] == ["after", "later"]
    too_late = datetime.now(UTC)
    async with ResultSubscriber(kafka_bootstrap, topic=topic, since=too_late) as nothing_yet:
        await _publish(kafka_bootstrap, topic, recovery_result(recovery_id="new"))
        assert [r.id for r in await _take(nothing_yet, 1)] == ["new"]


async def test_a_group_resumes_where_it_left_off(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory("results")
    await _publish(kafka_bootstrap, topic, recovery_result(recovery_id="a"))
    await _publish(kafka_bootstrap, topic, recovery_result(recovery_id="b"))

    def member() -> ResultSubscriber:
        return ResultSubscriber(
            kafka_bootstrap, topic=topic, group_id=f"g-{topic}", from_beginning=True
        )

    async with member() as first:
        assert [r.id for r in await _take(first, 2)] == ["a", "b"]
    await _publish(kafka_bootstrap, topic, recovery_result(recovery_id="c"))
    async with member() as again:
        assert [r.id for r in await _take(again, 1)] == ["c"]


async def test_undecodable_records_are_skipped_and_counted(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory("results")
    await _publish(
        kafka_bootstrap, topic, b"not avro", b"\xc3\x01" + b"\x00" * 8, recovery_result()
    )
    async with ResultSubscriber(kafka_bootstrap, topic=topic, from_beginning=True) as subscriber:
        assert [r.id for r in await _take(subscriber, 1)] == ["rec-1"]
        assert subscriber.undecodable == 2


async def test_confluent_framed_results_from_other_clients_decode(
    kafka_bootstrap: str, topic_factory: TopicFactory, registry: RegistryStub
) -> None:
    topic = topic_factory("results")
    text = schema_text("recovery_result", 2)
    schema_id = registry.add(text)
    ours = RecordCodec(
        RecoveryResult, framing=Framing.CONFLUENT, registry=SchemaRegistryClient(registry.url)
    )
    datum = ours.avro.decode(ours.encode(recovery_result(recovery_id="from-java")))
    value = b"\x00" + schema_id.to_bytes(4, "big") + avro_encode(text, datum)
    produce(kafka_bootstrap, topic, [(b"edge-1", value)])
    async with ResultSubscriber(
        kafka_bootstrap,
        topic=topic,
        from_beginning=True,
        registry=SchemaRegistryClient(registry.url),
    ) as subscriber:
        (result,) = await _take(subscriber, 1)
    assert result == recovery_result(recovery_id="from-java")


async def test_a_missing_topic_is_a_typed_error(kafka_bootstrap: str) -> None:
    with pytest.raises(SubscribeError, match="does not exist"):
        async with ResultSubscriber(kafka_bootstrap, topic="tmc.recovery.results.nope"):
            pass
