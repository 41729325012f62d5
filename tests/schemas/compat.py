"""Full (backward and forward) compatibility, checked by actually writing and reading data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer

_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_PRIMITIVES: dict[str, Any] = {
    "null": lambda i: None,
    "boolean": lambda i: i % 2 == 0,
    "int": lambda i: i * 7 - 3,
    "long": lambda i: i * 1_000_003 - 5,
    "float": lambda i: i / 2,
    "double": lambda i: i / 3,
    "string": lambda i: f"s{i}-é",
    "bytes": lambda i: bytes([i % 256]) * (i % 4),
}


def sample_datums(parsed: dict[str, Any], count: int = 40) -> list[Any]:
    """``count`` datums of ``parsed`` that between them take every union branch and enum symbol
    (up to ``count`` symbols), empty and non-empty arrays and maps."""
    named = parsed.get("__named_schemas", {})

    def sample(node: Any, i: int) -> Any:
        if isinstance(node, list):
            return sample(node[i % len(node)], i // len(node) + i)
        if isinstance(node, str):
            return sample(named[node], i) if node in named else _PRIMITIVES[node](i)
        kind = node["type"]
        if node.get("logicalType") == "timestamp-millis":
            return _EPOCH + timedelta(milliseconds=i * 86_400_123)
        if kind == "record":
            return {f["name"]: sample(f["type"], i + k) for k, f in enumerate(node["fields"])}
        if kind == "enum":
            return node["symbols"][i % len(node["symbols"])]
        if kind == "array":
            return [sample(node["items"], i + j) for j in range(i % 3)]
        if kind == "map":
            return {f"k{j}": sample(node["values"], i + j) for j in range(i % 3)}
        if kind == "fixed":
            return bytes(node["size"])
        return sample(kind, i)

    return [sample(parsed, i) for i in range(count)]


def read_with(data: bytes, writer: Any, reader: Any) -> Any:
    buf = BytesIO(data)
    datum = schemaless_reader(buf, writer, reader)
    assert buf.tell() == len(data), "reader left bytes unread"
    return datum


def write(schema: Any, datum: Any) -> bytes:
    buf = BytesIO()
    schemaless_writer(buf, schema, datum)
    return buf.getvalue()


def resolved_as(value: Any, reader: Any, named: dict[str, Any]) -> Any:
    """What a reader of type ``reader`` must make of ``value`` (as its writer read it), at any
    depth: fields the writer lacks take the reader's default, an enum symbol the reader lacks
    becomes its default, everything else keeps its value."""
    if isinstance(reader, str):
        return resolved_as(value, named[reader], named) if reader in named else value
    if isinstance(reader, list):
        branches = [b for b in reader if b != "null"]
        if value is None or len(branches) != 1:
            return value
        return resolved_as(value, branches[0], named)
    kind = reader["type"]
    if kind == "record":
        return {
            f["name"]: (
                resolved_as(value[f["name"]], f["type"], named)
                if f["name"] in value
                else f["default"]
            )
            for f in reader["fields"]
        }
    if kind == "enum":
        return value if value in reader["symbols"] else reader["default"]
    if kind == "array":
        return [resolved_as(item, reader["items"], named) for item in value]
    if kind == "map":
        return {key: resolved_as(item, reader["values"], named) for key, item in value.items()}
    return value


def assert_fully_compatible(old_raw: dict[str, Any], new_raw: dict[str, Any]) -> None:
    """Data written with either schema reads with the other: shared fields keep their values
    (an enum symbol the reader lacks: its default), fields the writer lacks take the reader's
    default, at every depth. Raises on any incompatibility."""
    old: Any = parse_schema(old_raw)
    new: Any = parse_schema(new_raw)
    for writer, reader in ((old, new), (new, old)):
        named = reader.get("__named_schemas", {})
        for datum in sample_datums(writer):
            data = write(writer, datum)
            as_written = read_with(data, writer, None)
            assert read_with(data, writer, reader) == resolved_as(as_written, reader, named)
