"""Independent reference clients: the ``avro`` package and confluent-kafka (librdkafka).

Nothing here uses our codec, so an interop test catches a bug that our encoder and decoder share.
"""

from __future__ import annotations

import io
import time
import uuid
from pathlib import Path
from typing import Any

import avro.io
import avro.schema
from confluent_kafka import Consumer, Producer

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "avro"


def schema_text(family: str, version: int) -> str:
    return (SCHEMAS / family / f"v{version}.avsc").read_text(encoding="utf-8")


def avro_encode(text: str, datum: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    avro.io.DatumWriter(avro.schema.parse(text)).write(datum, avro.io.BinaryEncoder(out))
    return out.getvalue()


def avro_decode(text: str, body: bytes) -> dict[str, Any]:
    buf = io.BytesIO(body)
    datum = avro.io.DatumReader(avro.schema.parse(text)).read(avro.io.BinaryDecoder(buf))
    assert buf.tell() == len(body), "the avro reader left bytes over"
    assert isinstance(datum, dict)
    return datum


def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for key, value in records:
        producer.produce(topic, value=value, key=key)
    assert producer.flush(15) == 0, "confluent-kafka could not deliver within 15 s"


def consume(
    bootstrap: str, topic: str, count: int, timeout: float = 20.0
) -> list[tuple[bytes | None, bytes]]:
    """The (key, value) of ``count`` records from the start of ``topic``."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"ref-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    received: list[tuple[bytes | None, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(received) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            assert message.error() is None, message.error()
            value = message.value()
            assert value is not None
            received.append((message.key(), value))
    finally:
        consumer.close()
    assert len(received) == count, f"got {len(received)} of {count} records in {timeout} s"
    return received
