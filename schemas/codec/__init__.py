"""The wire codec: Avro with single-object or Confluent framing, detected per message."""

from schemas.codec.avro_codec import AvroCodec
from schemas.codec.errors import (
    BadMagic,
    CodecConfigError,
    DecodeError,
    EncodeError,
    InvalidBody,
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
    RegistryError,
    RegistryUnreachable,
    SchemaNotRegistered,
    SchemaRegistryClient,
)

__all__ = [
    "AvroCodec",
    "BadMagic",
    "CodecConfigError",
    "DecodeError",
    "EncodeError",
    "Framing",
    "InvalidBody",
    "RecordCodec",
    "RegistryError",
    "RegistryUnavailable",
    "RegistryUnreachable",
    "SchemaNotRegistered",
    "SchemaRegistryClient",
    "TrailingBytes",
    "TruncatedMessage",
    "UnknownFingerprint",
    "UnknownSchemaId",
    "UnusableWriterSchema",
]
