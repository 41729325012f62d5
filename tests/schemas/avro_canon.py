"""A test oracle, written apart from the codec: the canonical form of an Avro body.

``canonical(schema, body)`` rewrites a body into the single encoding fastavro's writer produces
for the same value, or returns None when the body is not valid Avro. A body the codec accepts must
re-encode to exactly ``canonical(body)``. The rewriting undoes, and only undoes, the encodings the
spec allows for one value (each is named, and counted in ``Canon.alternatives``):

- ``non-minimal-varint``: a varint with redundant continuation groups (at most 10 bytes);
- ``negative-block-count``: an array or map block written as -count followed by its byte size;
- ``several-blocks``: an array or map split over more than one block.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

_INT_RANGE = range(-(1 << 31), 1 << 31)


class Invalid(Exception):
    """Not valid Avro."""


class Canon:
    def __init__(self, named: dict[str, Any], body: bytes) -> None:
        self.named = named
        self.body = body
        self.pos = 0
        self.out = bytearray()
        self.alternatives: Counter[str] = Counter()

    def raw(self, count: int) -> bytes:
        if count < 0 or self.pos + count > len(self.body):
            raise Invalid("short")
        chunk = self.body[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def read_varint(self) -> int:
        start, result = self.pos, 0
        for shift in range(0, 70, 7):
            (byte,) = self.raw(1)
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
        else:
            raise Invalid("varint longer than 10 bytes")
        if result >= 1 << 64:
            raise Invalid("varint beyond 64 bits")
        value = (result >> 1) ^ -(result & 1)
        if self.pos - start != len(varint(value)):
            self.alternatives["non-minimal-varint"] += 1
        return value

    def copy_varint(self) -> int:
        value = self.read_varint()
        self.out += varint(value)
        return value

    def walk(self, node: Any) -> None:
        if isinstance(node, list):
            index = self.copy_varint()
            if not 0 <= index < len(node):
                raise Invalid("union index")
            self.walk(node[index])
            return
        if isinstance(node, str) and node in self.named:
            self.walk(self.named[node])
            return
        kind = node if isinstance(node, str) else node["type"]
        if kind == "null":
            return
        if kind == "boolean":
            byte = self.raw(1)
            if byte not in (b"\x00", b"\x01"):
                raise Invalid("boolean")
            self.out += byte
        elif kind in ("int", "long"):
            value = self.copy_varint()
            if kind == "int" and value not in _INT_RANGE:
                raise Invalid("int range")
        elif kind in ("float", "double"):
            self.out += self.raw(4 if kind == "float" else 8)
        elif kind in ("bytes", "string"):
            size = self.copy_varint()
            chunk = self.raw(size)
            if kind == "string":
                try:
                    chunk.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise Invalid("utf-8") from exc
            self.out += chunk
        elif kind == "fixed":
            self.out += self.raw(node["size"])
        elif kind == "enum":
            if not 0 <= self.copy_varint() < len(node["symbols"]):
                raise Invalid("enum index")
        elif kind in ("record", "error"):
            for field in node["fields"]:
                self.walk(field["type"])
        elif kind in ("array", "map"):
            self.blocks(node)
        else:
            self.walk(kind)  # a primitive carrying a logical type

    def blocks(self, node: Any) -> None:
        items = bytearray()
        outer, self.out = self.out, items
        total = blocks = 0
        keys: set[bytes] = set()
        while True:
            count = self.read_varint()
            if count == 0:
                break
            blocks += 1
            size = None
            if count < 0:
                self.alternatives["negative-block-count"] += 1
                count, size = -count, self.read_varint()
            start = self.pos
            for _ in range(count):
                if node["type"] == "map":
                    key_at = len(items)
                    self.walk("string")
                    key = bytes(items[key_at:])
                    if key in keys:
                        raise Invalid("duplicate key")  # a re-encoding could not reproduce it
                    keys.add(key)
                    self.walk(node["values"])
                else:
                    self.walk(node["items"])
            if size is not None and self.pos - start != size:
                raise Invalid("block size")
            total += count
        if blocks > 1:
            self.alternatives["several-blocks"] += 1
        self.out = outer
        if total:
            self.out += varint(total) + items
        self.out += b"\x00"


def varint(value: int) -> bytes:
    n = (value << 1) ^ (value >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def canonical(schema: Any, body: bytes) -> Canon | None:
    """The body's canonical form (``.out``) and which allowed alternatives it used, or None."""
    canon = Canon(schema.get("__named_schemas", {}), body)
    try:
        canon.walk(schema)
    except Invalid:
        return None
    if canon.pos != len(body):
        return None
    return canon
