"""Ingest admits custom error types (TMCError v3) and dead-letters one that breaks their rule,
which an older reader would otherwise route as the known type it names."""

import dataclasses
import uuid
from typing import Any

import pytest

from schemas.codec import RecordCodec
from schemas.records import ErrorType, TMCError
from streams.config import IngestSettings
from streams.ingest.admission import Rejected, admit

CODEC = RecordCodec(TMCError)
INGEST = IngestSettings(max_message_bytes=4096, registry_retries=0, registry_retry_delay_s=0)


def _custom(**changes: Any) -> TMCError:
    error = TMCError.build("CustomApplication", "my-application", "reconcile").build()
    return dataclasses.replace(error, event_id=str(uuid.uuid4()), **changes)


async def test_a_custom_error_is_admitted_with_its_custom_type() -> None:
    error = _custom()
    admitted = await admit(CODEC.encode(error), CODEC, INGEST, schema_registry_configured=False)
    assert admitted == error
    assert isinstance(admitted, TMCError)
    assert admitted.custom_type == "CustomApplication"


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"type": ErrorType.SYNC_FAILURE}, "needs type UNKNOWN, not SyncFailure"),
        ({"custom_type": "SyncFailure"}, "'SyncFailure' is an ErrorType symbol"),
        ({"custom_type": ""}, "is not a letter followed by"),
        ({"custom_type": "two words"}, "is not a letter followed by"),
    ],
)
async def test_a_custom_type_that_breaks_the_rule_is_dead_lettered(
    changes: dict[str, Any], detail: str
) -> None:
    value = CODEC.encode(_custom(**changes))  # a foreign emitter: nothing checks it before
    rejected = await admit(value, CODEC, INGEST, schema_registry_configured=False)
    assert isinstance(rejected, Rejected)
    assert rejected.reason == "invalid-field"
    assert detail in rejected.detail
