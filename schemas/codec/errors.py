"""Typed codec failures. Decode errors carry a stable ``reason`` code (the DLQ records it) and a
hex prefix of the offending bytes, so a bad message can be diagnosed from a log line."""

from __future__ import annotations

from typing import ClassVar

from schemas.errors import TmcRecoveryError

HEX_PREFIX_BYTES = 32


class DecodeError(TmcRecoveryError):
    """Bytes that are not a record of the expected family; never a partial record."""

    reason: ClassVar[str] = "invalid-body"
    #: True when the same bytes may decode later (the registry was down), so don't dead-letter.
    transient: ClassVar[bool] = False

    def __init__(self, data: bytes, detail: str) -> None:
        self.hex_prefix = data[:HEX_PREFIX_BYTES].hex()
        self.detail = detail
        more = "..." if len(data) > HEX_PREFIX_BYTES else ""
        super().__init__(f"{self.reason}: {detail} [{len(data)} bytes: {self.hex_prefix}{more}]")


class BadMagic(DecodeError):
    """Neither single-object (C3 01) nor Confluent (00) framing."""

    reason = "bad-magic"


class TruncatedMessage(DecodeError):
    """The header or the body ends before what it declares."""

    reason = "truncated"


class UnknownFingerprint(DecodeError):
    """Single-object framing whose fingerprint matches no schema shipped in schemas/."""

    reason = "unknown-fingerprint"


class UnknownSchemaId(DecodeError):
    """Confluent framing whose schema id the registry does not know."""

    reason = "unknown-schema-id"


class RegistryUnavailable(DecodeError):
    """Confluent framing, but the registry could not be asked for the writer schema."""

    reason = "registry-unreachable"
    transient = True


class UnusableWriterSchema(DecodeError):
    """The writer schema is another record, cannot resolve to ours, or is unsafe to decode."""

    reason = "unusable-writer-schema"


class InvalidBody(DecodeError):
    """The body does not parse under its writer schema."""

    reason = "invalid-body"


class TrailingBytes(DecodeError):
    """A record decoded but bytes were left over: the framing or writer schema is wrong."""

    reason = "trailing-bytes"


# What the Avro specification calls invalid, one reason each. Readers that accept these disagree
# with each other (fastavro wraps a negative union index to a real branch, Java refuses it), so
# they are refused rather than read "somehow".


class BadUnionIndex(DecodeError):
    """A union branch index outside the union, negative included."""

    reason = "bad-union-index"


class BadEnumIndex(DecodeError):
    """An enum symbol index outside the enum, negative included."""

    reason = "bad-enum-index"


class BadBoolean(DecodeError):
    """A boolean byte other than 0 or 1."""

    reason = "bad-boolean"


class NegativeLength(DecodeError):
    """A string or bytes length, or an array or map block's byte size, below zero."""

    reason = "negative-length"


class BadBlockSize(DecodeError):
    """An array or map block with a negative count whose byte size is not the size of its items."""

    reason = "bad-block-size"


class InvalidUtf8(DecodeError):
    """A string or map key that is not valid UTF-8."""

    reason = "invalid-utf8"


class BadVarint(DecodeError):
    """A variable-length integer longer than 10 bytes, or whose value does not fit 64 bits."""

    reason = "bad-varint"


class IntOutOfRange(DecodeError):
    """An ``int`` whose value does not fit 32 bits."""

    reason = "int-out-of-range"


class DuplicateMapKey(DecodeError):
    """A map that repeats a key. The spec is silent, but readers disagree on which value wins."""

    reason = "duplicate-map-key"


class EncodeError(TmcRecoveryError):
    """A record that does not fit its schema (a programming error on the producing side)."""


class CodecConfigError(TmcRecoveryError):
    """A codec set up in a way that cannot work, e.g. Confluent framing without a registry."""
