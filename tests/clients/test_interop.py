"""Records written by the independent ``avro`` package and produced by confluent-kafka decode with
our codec after a trip through a real broker, in both framings and from an old schema version."""

import json
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas.codec import RecordCodec, SchemaRegistryClient
from schemas.records import ErrorType, Severity, TMCError
from streams.testing.registry_stub import RegistryStub
from tests.clients.reference import avro_encode, produce, schema_text
from tests.conftest import TopicFactory
from tests.schemas.examples import T0

pytestmark = pytest.mark.kafka


def _single_object(text: str, body: bytes) -> bytes:
    """The header written by hand, as a non-Python producer would."""
    canonical = to_parsing_canonical_form(json.loads(text))
    return b"\xc3\x01" + bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO")) + body


def _datum(n: int, version: int) -> dict[str, Any]:
    datum: dict[str, Any] = {
        "event_id": f"go-{n}",
        "type": "SyncConflict",
        "severity": "Medium",
        "component": "syncer-go",
        "operation": "update",
        "message": f"conflict {n}",
        "cause": "the object has been modified",
        "timestamp": T0,
        "context": {"resourceVersion": str(1000 + n)},
        "retryable": True,
        "recovery_hint": ["re-read", "retry"],
        "cluster_name": "edge-3",
        "logical_cluster": "root:org",
        "resource": {
            "gvk": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "namespace": "shop",
            "name": "web",
        },
        "emitter": {"name": "syncer-go", "instance": "pod-1", "version": None},
    }
    if version >= 2:
        datum["trace_id"] = "0af7651916cd43dd8448eb211c80319c"
    return datum


async def _consume_values(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        while len(values) < count:
            batch = await consumer.getmany(timeout_ms=10_000)
            assert batch, f"no records within 10 s after {len(values)}"
            values.extend(r.value for records in batch.values() for r in records if r.value)
    finally:
        await consumer.stop()
    return values


async def test_avro_package_records_in_both_framings_decode_with_our_codec(
    kafka_bootstrap: str, topic_factory: TopicFactory, registry: RegistryStub
) -> None:
    topic = topic_factory("interop")
    v1, v2 = schema_text("tmc_error", 1), schema_text("tmc_error", 2)
    v1_id, v2_id = registry.add(v1), registry.add(v2)
    values = [
        _single_object(v2, avro_encode(v2, _datum(0, 2))),
        _single_object(v1, avro_encode(v1, _datum(1, 1))),
        b"\x00" + v2_id.to_bytes(4, "big") + avro_encode(v2, _datum(2, 2)),
        b"\x00" + v1_id.to_bytes(4, "big") + avro_encode(v1, _datum(3, 1)),
    ]
    produce(kafka_bootstrap, topic, [(b"edge-3", v) for v in values])

    codec = RecordCodec(TMCError, registry=SchemaRegistryClient(registry.url))
    decoded = [
        await codec.decode_async(v) for v in await _consume_values(kafka_bootstrap, topic, 4)
    ]

    assert [e.event_id for e in decoded] == ["go-0", "go-1", "go-2", "go-3"]
    for error in decoded:
        assert error.type is ErrorType.SYNC_CONFLICT
        assert error.severity is Severity.MEDIUM
        assert error.timestamp == T0
        assert error.resource is not None
        assert error.resource.gvk.kind == "Deployment"
        assert error.kafka_key() == b"edge-3"
    assert [e.trace_id is not None for e in decoded] == [True, False, True, False]
