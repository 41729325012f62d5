"""Build TMCError messages field by field, so one field can carry hand-made (bad) bytes."""

from __future__ import annotations

import json
from functools import cache
from io import BytesIO
from typing import Any

from fastavro import parse_schema, schemaless_writer

from schemas.catalog import SchemaName, catalog
from tests.schemas.avro_canon import varint

ERRORS = catalog().families[SchemaName.TMC_ERROR]
RAW = json.loads(ERRORS.latest.text)
NAMES = [f["name"] for f in RAW["fields"]]
HEADER = b"\xc3\x01" + ERRORS.latest.fingerprint
SYMBOLS = {
    f["name"]: f["type"]["symbols"] for f in RAW["fields"] if f["name"] in ("type", "severity")
}


@cache
def _partial(names: tuple[str, ...]) -> Any:
    return parse_schema({**RAW, "fields": [f for f in RAW["fields"] if f["name"] in names]})


def encode_fields(datum: dict[str, Any], names: list[str]) -> bytes:
    buf = BytesIO()
    schemaless_writer(buf, _partial(tuple(names)), datum)
    return buf.getvalue()


def message(datum: dict[str, Any], field: str, encoded: bytes) -> bytes:
    """A single-object TMCError message whose ``field`` is ``encoded`` as given."""
    at = NAMES.index(field)
    return (
        HEADER + encode_fields(datum, NAMES[:at]) + encoded + encode_fields(datum, NAMES[at + 1 :])
    )


def string(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return varint(len(raw)) + raw


def blocks(*items: list[bytes], negative: bool = False, sizes: list[int] | None = None) -> bytes:
    """Array/map blocks of already encoded items, each block with a negative count and its byte
    size (given, or the true one) when ``negative``."""
    out = bytearray()
    for i, block in enumerate(items):
        body = b"".join(block)
        if negative:
            size = len(body) if sizes is None else sizes[i]
            out += varint(-len(block)) + varint(size)
        else:
            out += varint(len(block))
        out += body
    return bytes(out + b"\x00")


def long_varint(value: int, length: int) -> bytes:
    """``value`` as a zig-zag varint padded with empty continuation groups to ``length`` bytes."""
    minimal = bytearray(varint(value))
    while len(minimal) < length:
        minimal[-1] |= 0x80
        minimal.append(0)
    return bytes(minimal)
