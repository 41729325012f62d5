"""Typed-record codecs: the dict-level :class:`AvroCodec` plus the dataclass conversion."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, Protocol, TypeVar

from schemas.catalog import SchemaName
from schemas.codec.avro_codec import AvroCodec
from schemas.codec.framing import Framing
from schemas.codec.registry import SchemaRegistryClient
from schemas.records.convert import from_avro, to_avro


class AvroRecord(Protocol):
    """A record dataclass that names its schema family."""

    schema: ClassVar[SchemaName]
    __dataclass_fields__: ClassVar[dict[str, Any]]


R = TypeVar("R", bound=AvroRecord)


class RecordCodec(Generic[R]):
    """Records of one type <-> framed bytes, e.g. ``RecordCodec(TMCError)``."""

    def __init__(
        self,
        record_type: type[R],
        *,
        framing: Framing = Framing.SINGLE_OBJECT,
        registry: SchemaRegistryClient | None = None,
        subject: str | None = None,
    ) -> None:
        self.record_type = record_type
        self.avro = AvroCodec(
            record_type.schema, framing=framing, registry=registry, subject=subject
        )

    def encode(self, record: R) -> bytes:
        return self.avro.encode(to_avro(record))

    def decode(self, data: bytes) -> R:
        return from_avro(self.record_type, self.avro.decode(data))

    async def decode_async(self, data: bytes) -> R:
        return from_avro(self.record_type, await self.avro.decode_async(data))
