"""Typed-record codecs: the dict-level :class:`AvroCodec` plus the dataclass conversion."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
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
    """Records of one type <-> framed bytes, e.g. ``RecordCodec(TMCError)``.

    ``memo``: how many recently decoded payloads to keep, so the same bytes decode once.
    In the worker three agents read every results record, and a table's row is read again
    until it changes; decoding is most of what reading costs. Records are immutable values,
    so the agents share one safely. A payload that fails to decode is never kept.
    """

    def __init__(
        self,
        record_type: type[R],
        *,
        framing: Framing = Framing.SINGLE_OBJECT,
        registry: SchemaRegistryClient | None = None,
        subject: str | None = None,
        memo: int = 0,
    ) -> None:
        self.record_type = record_type
        self.avro = AvroCodec(
            record_type.schema, framing=framing, registry=registry, subject=subject
        )
        self._decode: Callable[[bytes], R] = (
            lru_cache(maxsize=memo)(self._decode_fresh) if memo else self._decode_fresh
        )

    def encode(self, record: R) -> bytes:
        return self.avro.encode(to_avro(record))

    def decode(self, data: bytes) -> R:
        return self._decode(data)

    def _decode_fresh(self, data: bytes) -> R:
        return from_avro(self.record_type, self.avro.decode(data))

    async def decode_async(self, data: bytes) -> R:
        return from_avro(self.record_type, await self.avro.decode_async(data))
