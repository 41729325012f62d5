"""The two wire framings: Avro single-object encoding and Confluent's schema-id prefix."""

from __future__ import annotations

from enum import StrEnum

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
SINGLE_OBJECT_HEADER_LEN = 10  # magic (2) + CRC-64-AVRO fingerprint (8)
CONFLUENT_MAGIC = 0
CONFLUENT_HEADER_LEN = 5  # magic (1) + big-endian schema id (4)


class Framing(StrEnum):
    SINGLE_OBJECT = "single-object"
    CONFLUENT = "confluent"


def single_object_header(fingerprint: bytes) -> bytes:
    return SINGLE_OBJECT_MAGIC + fingerprint


def confluent_header(schema_id: int) -> bytes:
    return bytes([CONFLUENT_MAGIC]) + schema_id.to_bytes(4, "big")
