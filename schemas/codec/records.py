"""Typed-record codecs: the dict-level :class:`AvroCodec` plus the dataclass conversion."""

from __future__ import annotations

from collections import OrderedDict
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
K = TypeVar("K")
V = TypeVar("V")


class RecordCodec(Generic[R]):
    """Records of one type <-> framed bytes, e.g. ``RecordCodec(TMCError)``.

    ``memo``: how many recent (bytes, record) pairs to keep, both ways, so that the worker
    converts a record once where it passes through its own stages. Bytes decode once: three
    agents read every results record, and a table row is read again until it changes. A
    record this codec encoded decodes from its bytes as itself, and encodes again to the same
    bytes (the executor's results reach status as the objects it sent, and a row or summary
    written is read back as it was). Records are immutable values, so sharing them is safe.
    A payload that fails to decode is never kept.
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
        self._memo = memo
        self._by_bytes: OrderedDict[bytes, R] = OrderedDict()
        self._by_record: OrderedDict[int, tuple[R, bytes]] = OrderedDict()  # by id(record)

    def encode(self, record: R) -> bytes:
        kept = self._by_record.get(id(record))
        if kept is not None and kept[0] is record:
            return kept[1]
        data = self.avro.encode(to_avro(record))
        if self._memo:
            self._keep(self._by_record, id(record), (record, data))
            self._keep(self._by_bytes, data, record)
        return data

    def decode(self, data: bytes) -> R:
        record = self._by_bytes.get(data)
        if record is None:
            record = from_avro(self.record_type, self.avro.decode(data))
        if self._memo:
            self._keep(self._by_bytes, data, record)
        return record

    def _keep(self, kept: OrderedDict[K, V], key: K, value: V) -> None:
        """``key`` as the newest of ``kept``, the oldest dropped past the memo's size."""
        kept[key] = value
        kept.move_to_end(key)
        if len(kept) > self._memo:
            kept.popitem(last=False)

    async def decode_async(self, data: bytes) -> R:
        return from_avro(self.record_type, await self.avro.decode_async(data))
