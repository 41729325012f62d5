"""The wire codec: Avro with single-object or Confluent framing, detected per message."""

from schemas.codec.avro_codec import AvroCodec
from schemas.codec.errors import (
    BadBlockSize,
    BadBoolean,
    BadEnumIndex,
    BadMagic,
    BadUnionIndex,
    BadVarint,
    CodecConfigError,
    DecodeError,
    DuplicateMapKey,
    EncodeError,
    IntOutOfRange,
    InvalidBody,
    InvalidUtf8,
    NegativeLength,
    RegistryUnavailable,
    TrailingBytes,
    TruncatedMessage,
    UnknownFingerprint,
    UnknownSchemaId,
    UnusableWriterSchema,
)
from schemas.codec.framing import Framing
from schemas.codec.records import RecordCodec
from schemas.codec.registry import (
    RegistryUnreachable,
    SchemaNotRegistered,
    SchemaRegistryClient,
    SchemaRegistryError,
)

__all__ = [
    "AvroCodec",
    "BadBlockSize",
    "BadBoolean",
    "BadEnumIndex",
    "BadMagic",
    "BadUnionIndex",
    "BadVarint",
    "CodecConfigError",
    "DecodeError",
    "DuplicateMapKey",
    "EncodeError",
    "Framing",
    "IntOutOfRange",
    "InvalidBody",
    "InvalidUtf8",
    "NegativeLength",
    "RecordCodec",
    "RegistryUnavailable",
    "RegistryUnreachable",
    "SchemaNotRegistered",
    "SchemaRegistryClient",
    "SchemaRegistryError",
    "TrailingBytes",
    "TruncatedMessage",
    "UnknownFingerprint",
    "UnknownSchemaId",
    "UnusableWriterSchema",
]
