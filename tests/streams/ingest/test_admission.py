"""Admission of raw records: a valid error or a typed reason, never an exception."""

import dataclasses
import os
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import Framing, RecordCodec, SchemaRegistryClient
from schemas.records import ErrorType, TMCError
from streams.config import IngestSettings
from streams.ingest.admission import (
    DLQ_REASON,
    DLQ_SOURCE,
    Rejected,
    admit,
    dead_letter_headers,
    validate,
)

CODEC = RecordCodec(TMCError)
INGEST = IngestSettings(max_message_bytes=4096, registry_retries=2, registry_retry_delay_s=0)


def _error(**changes: Any) -> TMCError:
    error = (
        TMCError.build(ErrorType.CLUSTER_UNREACHABLE, "syncer", "heartbeat")
        .with_cluster("edge-1", "root:edge")
        .build()
    )
    return dataclasses.replace(error, **{"event_id": str(uuid.uuid4()), **changes})


async def test_valid_record_is_admitted() -> None:
    error = _error()
    assert (
        await admit(CODEC.encode(error), CODEC, INGEST, schema_registry_configured=False) == error
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty"),
        (b"", "truncated"),
        (b"\xc3\x01" + b"\x00" * 8 + b"body", "unknown-fingerprint"),
        (b"garbage!", "bad-magic"),
        (b"x" * 5000, "oversized"),
    ],
)
async def test_bad_bytes_are_rejected_with_a_reason(value: bytes | None, reason: str) -> None:
    result = await admit(value, CODEC, INGEST, schema_registry_configured=False)
    assert isinstance(result, Rejected)
    assert result.reason == reason


async def test_truncated_avro_is_rejected() -> None:
    encoded = CODEC.encode(_error())
    result = await admit(
        encoded[: len(encoded) // 2], CODEC, INGEST, schema_registry_configured=False
    )
    assert isinstance(result, Rejected)
    assert result.reason in {"truncated", "invalid-body"}


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"component": " "}, "component is empty"),
        ({"operation": ""}, "operation is empty"),
        ({"event_id": "not-a-uuid"}, "is not a UUID"),
    ],
)
async def test_decodable_but_invalid_records_are_rejected(
    changes: dict[str, Any], detail: str
) -> None:
    result = await admit(
        CODEC.encode(_error(**changes)), CODEC, INGEST, schema_registry_configured=False
    )
    assert isinstance(result, Rejected)
    assert result.reason == "invalid-field"
    assert detail in result.detail


def _forms(u: uuid.UUID) -> st.SearchStrategy[str]:
    return st.sampled_from([str(u), str(u).upper(), u.hex, f"{{{u}}}", f"urn:uuid:{u}"])


NEAR_UUIDS = st.text(alphabet="0123456789abcdefgABCDEF-{}:nru ", min_size=30, max_size=46)


@settings(max_examples=300)
@given(st.uuids().flatmap(_forms) | NEAR_UUIDS | st.uuids().map(lambda u: str(u)[:-1] + "g"))
def test_an_event_id_is_admitted_exactly_when_it_reads_as_a_uuid(event_id: str) -> None:
    """The canonical form is checked by pattern; every form is judged as uuid.UUID judges it."""
    try:
        uuid.UUID(event_id)
        reads = True
    except ValueError:
        reads = False
    assert (validate(_error(event_id=event_id)) is None) == reads


async def test_unreachable_registry_is_retried_then_rejected() -> None:
    registry = SchemaRegistryClient("http://127.0.0.1:1", timeout=0.2, retry_after=0)
    codec = RecordCodec(TMCError, framing=Framing.SINGLE_OBJECT, registry=registry)
    confluent_framed = b"\x00\x00\x00\x00\x07" + CODEC.encode(_error())[10:]
    result = await admit(confluent_framed, codec, INGEST, schema_registry_configured=True)
    assert isinstance(result, Rejected)
    assert result.reason == "registry-unreachable"


def test_dead_letter_keeps_original_headers_and_adds_why_and_where() -> None:
    headers = dead_letter_headers(
        [("traceparent", b"00-abc")], Rejected("bad-magic", "detail"), "tmc.errors:3:42"
    )
    assert headers[0] == ("traceparent", b"00-abc")
    assert (DLQ_REASON, b"bad-magic") in headers
    assert (DLQ_SOURCE, b"tmc.errors:3:42") in headers


@settings(max_examples=300, deadline=2000)
@given(st.binary(max_size=600) | st.builds(lambda n: os.urandom(n), st.integers(0, 5000)))
async def test_any_bytes_give_an_error_or_a_reason(value: bytes) -> None:
    result = await admit(value, CODEC, INGEST, schema_registry_configured=False)
    assert isinstance(result, TMCError | Rejected)
