"""Admission of raw records from tmc.errors: a valid TMCError, or a reason to dead-letter it.

Nothing here raises on bad input: every record ends as an error to triage or a
:class:`Rejected` with a stable reason code, which the DLQ record carries next to the
original key, value and headers.
"""

import asyncio
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from schemas.codec import DecodeError, RecordCodec
from schemas.records import TMCError
from streams.config import IngestSettings

Headers = Sequence[tuple[str, bytes]]

DLQ_REASON = "tmc.dlq.reason"
DLQ_DETAIL = "tmc.dlq.detail"
DLQ_SOURCE = "tmc.dlq.source"
#: The form emitters write, checked without building a UUID; any other form uuid.UUID takes.
_CANONICAL_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


@dataclass(frozen=True)
class Rejected:
    """Why a record cannot be processed; ``reason`` is a stable code for dashboards."""

    reason: str
    detail: str


def validate(error: TMCError) -> Rejected | None:
    """Fields the pipeline relies on that the schema alone cannot enforce."""
    if not error.component.strip():
        return Rejected("invalid-field", "component is empty")
    if not error.operation.strip():
        return Rejected("invalid-field", "operation is empty")
    if error.event_id is not None and not _CANONICAL_UUID.fullmatch(error.event_id):
        try:
            uuid.UUID(error.event_id)
        except ValueError:
            return Rejected("invalid-field", f"event_id {error.event_id[:64]!r} is not a UUID")
    custom = error.custom_type_problem()
    if custom is not None:
        return Rejected("invalid-field", custom)
    return None


async def admit(
    value: bytes | None,
    codec: RecordCodec[TMCError],
    settings: IngestSettings,
    schema_registry_configured: bool,
) -> TMCError | Rejected:
    """Decode and validate one record. A down registry is retried a bounded number of times,
    and only when one is configured: otherwise stray 0x00-framed bytes would stall ingest."""
    if value is None:
        return Rejected("empty", "record has no value (tombstone)")
    if len(value) > settings.max_message_bytes:
        return Rejected(
            "oversized",
            f"{len(value)} bytes exceeds ingest.max_message_bytes={settings.max_message_bytes}",
        )
    retries = 0
    while True:
        try:
            error = await codec.decode_async(value)
        except DecodeError as exc:
            if exc.transient and schema_registry_configured and retries < settings.registry_retries:
                retries += 1
                await asyncio.sleep(settings.registry_retry_delay_s * retries)
                continue
            return Rejected(exc.reason, str(exc))
        return validate(error) or error


def dead_letter_headers(
    original: Headers, rejected: Rejected, source: str
) -> list[tuple[str, bytes]]:
    """The original headers plus why and where from, so the record can be replayed."""
    return [
        *original,
        (DLQ_REASON, rejected.reason.encode()),
        (DLQ_DETAIL, rejected.detail[:1024].encode()),
        (DLQ_SOURCE, source.encode()),
    ]
