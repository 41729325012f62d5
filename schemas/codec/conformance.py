"""The Avro binary encoding checked to the letter of the specification, in pure Python.

This is the slow, exact reader. The codec runs it only when its fast path (fastavro on a
transformed schema, see :mod:`schemas.codec.strict`) fails or cannot vouch for a body, so that
every bad body gets the reason of its *first* violation in byte order, whatever fastavro happened
to trip over. It builds no values; it walks the writer schema over the bytes and raises a typed
:class:`~schemas.codec.errors.DecodeError`.

Accepted although another encoding of the same value exists (the spec allows both):
- array and map blocks with a negative count followed by the block's byte size, and a value
  split over several blocks;
- non-minimal variable-length integers, up to the 10 bytes a 64-bit value can take.

Precondition: the writer schema has no arrays of zero-width items (the codec refuses those, see
:mod:`schemas.codec.safety`); every item then takes at least one byte, which bounds every loop by
the length of the input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from schemas.codec import errors

_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
_MAX_VARINT_BYTES = 10


class _Checker:
    __slots__ = ("data", "end", "named", "path", "pos")

    def __init__(self, named: Mapping[str, Any], data: bytes, offset: int) -> None:
        self.data = data
        self.pos = offset
        self.end = len(data)
        self.named = named
        self.path: list[str] = []

    def fail(self, kind: type[errors.DecodeError], detail: str, at: int | None = None) -> NoReturn:
        where = ".".join(self.path) or "the record"
        raise kind(self.data, f"{detail} in {where} at byte {self.pos if at is None else at}")

    def take(self, count: int) -> int:
        """Consume ``count`` bytes; returns where they start."""
        start = self.pos
        if count > self.end - start:
            self.fail(errors.TruncatedMessage, f"{count} bytes claimed, {self.end - start} left")
        self.pos = start + count
        return start

    def varint(self) -> int:
        """A zig-zag varint as a 64-bit signed value; non-minimal encodings are allowed."""
        data, pos, start = self.data, self.pos, self.pos
        value = shift = 0
        for _ in range(_MAX_VARINT_BYTES):
            if pos >= self.end:
                self.fail(errors.TruncatedMessage, "input ends inside a varint", start)
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
        else:
            self.fail(errors.BadVarint, "varint longer than 10 bytes", start)
        if value >> 64:
            self.fail(errors.BadVarint, "varint overflows 64 bits", start)
        self.pos = pos
        return (value >> 1) ^ -(value & 1)

    def int32(self, what: str) -> int:
        start = self.pos
        value = self.varint()
        if not _INT_MIN <= value <= _INT_MAX:
            self.fail(errors.IntOutOfRange, f"{what} {value} does not fit 32 bits", start)
        return value

    def length(self, what: str) -> int:
        start = self.pos
        size = self.varint()
        if size < 0:
            self.fail(errors.NegativeLength, f"{what} length {size}", start)
        return size

    def utf8(self, what: str) -> str:
        size = self.length(what)
        start = self.take(size)
        try:
            return self.data[start : start + size].decode("utf-8")
        except UnicodeDecodeError as exc:
            self.fail(errors.InvalidUtf8, f"{what} is not UTF-8 ({exc.reason})", start + exc.start)

    def walk(self, node: Any) -> None:
        if isinstance(node, str):
            primitive = _PRIMITIVES.get(node)
            if primitive is not None:
                primitive(self)
            else:
                self.walk(self.named[node])
        elif isinstance(node, list):
            self.union(node)
        else:
            kind = node["type"]
            handler = _COMPLEX.get(kind)
            if handler is not None:
                handler(self, node)
            else:  # a primitive with a logical type: its encoding is the primitive's
                self.walk(kind)

    def union(self, branches: list[Any]) -> None:
        start = self.pos
        index = self.varint()
        if not 0 <= index < len(branches):
            self.fail(errors.BadUnionIndex, f"union branch {index} of {len(branches)}", start)
        self.walk(branches[index])

    def record(self, node: Mapping[str, Any]) -> None:
        path = self.path
        for field in node["fields"]:
            path.append(field["name"])
            self.walk(field["type"])
            path.pop()

    def enum(self, node: Mapping[str, Any]) -> None:
        start = self.pos
        index = self.varint()
        symbols = node["symbols"]
        if not 0 <= index < len(symbols):
            self.fail(errors.BadEnumIndex, f"enum index {index} of {len(symbols)}", start)

    def fixed(self, node: Mapping[str, Any]) -> None:
        self.take(node["size"])

    def array(self, node: Mapping[str, Any]) -> None:
        self.blocks(node["items"], None)

    def map(self, node: Mapping[str, Any]) -> None:
        self.blocks(node["values"], set())

    def blocks(self, item: Any, keys: set[str] | None) -> None:
        """Blocks of items (map entries when ``keys`` is a set) up to a zero count."""
        while True:
            start = self.pos
            count = self.varint()
            if count == 0:
                return
            size = None
            if count < 0:
                count = -count
                size_at = self.pos
                size = self.varint()
                if size < 0:
                    self.fail(errors.NegativeLength, f"block byte size {size}", size_at)
            first = self.pos
            if count > self.end - first:  # every item takes a byte at least
                self.fail(errors.TruncatedMessage, f"block of {count} items", start)
            for _ in range(count):
                if keys is None:
                    self.walk(item)
                    continue
                key_at = self.pos
                key = self.utf8("map key")
                if key in keys:
                    self.fail(errors.DuplicateMapKey, f"key {key!r} repeated", key_at)
                keys.add(key)
                self.path.append(f"[{key!r}]")
                self.walk(item)
                self.path.pop()
            if size is not None and self.pos - first != size:
                self.fail(
                    errors.BadBlockSize,
                    f"block declares {size} bytes, its {count} items take {self.pos - first}",
                    start,
                )


def _boolean(checker: _Checker) -> None:
    at = checker.take(1)
    byte = checker.data[at]
    if byte > 1:
        checker.fail(errors.BadBoolean, f"boolean byte {byte:#04x}", at)


def _bytes(checker: _Checker) -> None:
    checker.take(checker.length("bytes"))


_PRIMITIVES: dict[str, Callable[[_Checker], object]] = {
    "null": lambda checker: None,
    "boolean": _boolean,
    "int": lambda checker: checker.int32("int"),
    "long": _Checker.varint,
    "float": lambda checker: checker.take(4),
    "double": lambda checker: checker.take(8),
    "bytes": _bytes,
    "string": lambda checker: checker.utf8("string"),
}
_COMPLEX = {
    "record": _Checker.record,
    "error": _Checker.record,
    "enum": _Checker.enum,
    "fixed": _Checker.fixed,
    "array": _Checker.array,
    "map": _Checker.map,
}


def check_value(node: Any, named: Mapping[str, Any], data: bytes, offset: int) -> int:
    """Check the one value of schema ``node`` at ``data[offset:]``; returns where it ends."""
    checker = _Checker(named, data, offset)
    checker.walk(node)
    return checker.pos


def check_body(schema: Any, data: bytes, offset: int) -> None:
    """Raise the typed error for the first thing in ``data[offset:]`` that the Avro spec calls
    invalid under the (fastavro-parsed) writer ``schema``, or for bytes left over after it."""
    named = schema.get("__named_schemas", {}) if isinstance(schema, Mapping) else {}
    checker = _Checker(named, data, offset)
    checker.walk(schema)
    if checker.pos != checker.end:
        checker.fail(errors.TrailingBytes, f"{checker.end - checker.pos} bytes after the record")
