"""ErrorEmitter through a real broker, read back by independent clients (confluent-kafka, avro)."""

import asyncio
import dataclasses
import json
import os
import socket
import time

import pytest
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas.codec import Framing, SchemaRegistryClient
from schemas.records import EmitterIdentity, ErrorType, TMCError
from streams.clients import EmitError, ErrorEmitter
from streams.testing.registry_stub import RegistryStub
from tests.clients.reference import avro_decode, consume, schema_text
from tests.conftest import TopicFactory

LATEST = schema_text("tmc_error", 3)
HEADER = b"\xc3\x01" + bytes.fromhex(
    fingerprint(to_parsing_canonical_form(json.loads(LATEST)), "CRC-64-AVRO")
)


def _error(cluster: str | None, message: str) -> TMCError:
    builder = TMCError.build(ErrorType.CLUSTER_UNREACHABLE, "syncer", "heartbeat")
    if cluster:
        builder.with_cluster(cluster, "root:edge")
    return builder.with_message(message).build()


@pytest.mark.kafka
async def test_emitted_errors_decode_with_the_avro_package(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory("errors", partitions=3)
    errors = [_error("edge-1", "a"), _error("edge-2", "b"), _error(None, "c")]
    async with ErrorEmitter(kafka_bootstrap, name="syncer-7", topic=topic) as emitter:
        ids = [await emitter.emit(e) for e in errors]
    assert len(set(ids)) == 3

    by_message = {}
    for key, value in consume(kafka_bootstrap, topic, 3):
        assert value[:10] == HEADER
        datum = avro_decode(LATEST, value[10:])
        by_message[datum["message"]] = (key, datum)
    for error, event_id in zip(errors, ids, strict=True):
        key, datum = by_message[error.message]
        assert key == (error.cluster_name or "syncer").encode()
        assert datum["event_id"] == event_id
        assert datum["type"] == "ClusterUnreachable"
        assert datum["severity"] == "High"
        assert datum["retryable"] is True
        assert datum["cluster_name"] == error.cluster_name
        assert datum["timestamp"] == error.timestamp
        assert datum["emitter"]["name"] == "syncer-7"
        assert datum["emitter"]["instance"].endswith(f":{os.getpid()}")


@pytest.mark.kafka
async def test_a_given_event_id_and_identity_are_kept_and_bursts_all_arrive(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory("errors")
    identity = EmitterIdentity("placement", "pod-9", "2.0")
    keep = _error("edge-9", "retried send")
    keep = dataclasses.replace(keep, event_id="fixed-id", emitter=identity)
    async with ErrorEmitter(kafka_bootstrap, topic=topic, linger_ms=20) as emitter:
        assert await emitter.emit(keep) == "fixed-id"
        burst = await asyncio.gather(*(emitter.emit(_error("edge-1", str(i))) for i in range(200)))
    assert len(set(burst)) == 200
    records = consume(kafka_bootstrap, topic, 201)
    first = avro_decode(LATEST, records[0][1][10:])
    assert first["event_id"] == "fixed-id"
    assert first["emitter"] == {"name": "placement", "instance": "pod-9", "version": "2.0"}


@pytest.mark.kafka
async def test_confluent_framing_registers_under_the_topic_subject(
    kafka_bootstrap: str, topic_factory: TopicFactory, registry: RegistryStub
) -> None:
    topic = topic_factory("errors")
    client = SchemaRegistryClient(registry.url)
    async with ErrorEmitter(
        kafka_bootstrap, topic=topic, framing=Framing.CONFLUENT, registry=client
    ) as emitter:
        event_id = await emitter.emit(_error("edge-1", "framed"))
    (schema_id,) = registry.subjects[f"{topic}-value"]
    ((_, value),) = consume(kafka_bootstrap, topic, 1)
    assert value[:5] == b"\x00" + schema_id.to_bytes(4, "big")
    assert avro_decode(registry.schemas[schema_id], value[5:])["event_id"] == event_id


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_broker_fails_within_the_delivery_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(EmitError, match="cannot start"):
        async with ErrorEmitter(f"127.0.0.1:{_closed_port()}", delivery_timeout=2.0):
            pass
    assert time.monotonic() - started < 4.0


@pytest.mark.kafka
async def test_a_missing_topic_fails_within_the_delivery_timeout(kafka_bootstrap: str) -> None:
    async with ErrorEmitter(
        kafka_bootstrap, topic="tmc.errors.never-created", delivery_timeout=2.0
    ) as emitter:
        started = time.monotonic()
        with pytest.raises(EmitError, match="not confirmed") as raised:
            await emitter.emit(_error("edge-1", "lost"))
        assert time.monotonic() - started < 4.0
    assert raised.value.event_id is not None


async def test_emitting_before_start_is_a_typed_error() -> None:
    with pytest.raises(EmitError, match="not started"):
        await ErrorEmitter("127.0.0.1:1").emit(_error("edge-1", "early"))
