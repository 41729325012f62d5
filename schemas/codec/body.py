"""Reading one Avro body strictly: the fast path, the exact check, and schema resolution."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from io import BytesIO
from typing import Any

from fastavro import schemaless_reader
from fastavro.read import SchemaResolutionError

from schemas.codec import errors
from schemas.codec.conformance import check_body
from schemas.codec.strict import StrictReader


class BodyReader:
    """Bodies written with one (fastavro-parsed) writer schema, read as ``reader`` sees them
    (None: as written). Whatever the Avro spec calls invalid raises its typed DecodeError."""

    __slots__ = ("added", "fast", "reader", "schema", "shared")

    def __init__(self, schema: Any, reader: Any = None) -> None:
        self.schema = schema
        self.reader = reader
        self.fast = StrictReader(schema).read
        self.added = _added_fields(schema, reader) if reader is not None else None
        # Immutable defaults can be shared by every record; a list or dict gets a copy each.
        self.shared = all(
            isinstance(v, str | int | float | bool | None) for v in (self.added or {}).values()
        )

    def read(self, data: bytes, offset: int) -> Any:
        """The datum in ``data[offset:]``, which must end where the datum does."""
        try:
            datum = self.fast(data, offset)
        except Exception:  # garbage makes fastavro raise anything from IndexError on
            return self.read_checked(data, offset)
        if self.reader is None:
            return datum
        if self.added is not None:  # resolving only adds the reader's new fields
            datum.update(self.added if self.shared else copy.deepcopy(self.added))
            return datum
        return self.read_plain(data, offset)  # the bytes are sound; fastavro resolves them

    def read_checked(self, data: bytes, offset: int) -> Any:
        """The slow path: the exact check raises the first violation, else a plain read."""
        check_body(self.schema, data, offset)
        return self.read_plain(data, offset)

    def read_plain(self, data: bytes, offset: int) -> Any:
        """fastavro's own reader, for bytes known to be sound."""
        buf = BytesIO(data)
        buf.seek(offset)
        try:
            return schemaless_reader(buf, self.schema, self.reader)
        except SchemaResolutionError as exc:
            raise errors.UnusableWriterSchema(data, str(exc)) from exc
        except Exception as exc:  # a sound body whose value does not convert, e.g. a timestamp
            raise errors.InvalidBody(data, f"{type(exc).__name__}: {exc}") from exc


def _added_fields(writer: Any, reader: Any) -> dict[str, Any] | None:
    """When resolving ``writer`` to ``reader`` only adds fields, their defaults; else None.

    That is when both are records of one name, every writer field has the identical type in the
    reader, and every other reader field has a default: then fastavro's resolution reads each
    writer field as written and appends the defaults, which is what this does for free (TMCError
    v1 to v2 adds ``trace_id``). Identical includes named types defined inline, so an enum with
    new symbols, or a changed nested record, takes fastavro's resolution.
    """
    if not (isinstance(writer, Mapping) and isinstance(reader, Mapping)):
        return None
    if writer.get("type") != "record" or reader.get("type") != "record":
        return None
    if writer.get("name") != reader.get("name"):
        return None
    theirs = {f["name"]: f for f in reader["fields"]}
    for field in writer["fields"]:
        match = theirs.pop(field["name"], None)
        if match is None or match["type"] != field["type"]:
            return None
    if any("default" not in f for f in theirs.values()):
        return None
    named = writer.get("__named_schemas", {})
    if any(_promoting_union(f["type"], named, set()) for f in writer["fields"]):
        return None
    return {name: f["default"] for name, f in theirs.items()}


# Writer type -> reader types it is read as (the spec's promotions).
_PROMOTES = {
    "int": {"long", "float", "double"},
    "long": {"float", "double"},
    "float": {"double"},
    "string": {"bytes"},
    "bytes": {"string"},
}


_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})


def _primitive(branch: Any) -> str | None:
    kind = branch["type"] if isinstance(branch, Mapping) else branch
    return kind if isinstance(kind, str) and kind in _PRIMITIVES else None


def _promoting_union(node: Any, named: Mapping[str, Any], seen: set[str]) -> bool:
    """Whether a union in ``node`` has a branch an earlier branch would take when resolving
    (same primitive, or a promotion): resolution may then change the value's type."""
    if isinstance(node, list):
        kinds = [_primitive(b) for b in node]
        for i, earlier in enumerate(kinds):
            for later in kinds[i + 1 :]:
                if earlier and later and (earlier == later or earlier in _PROMOTES.get(later, ())):
                    return True
        return any(_promoting_union(b, named, seen) for b in node)
    if isinstance(node, str):
        if node in named and node not in seen:
            seen.add(node)
            return _promoting_union(named[node], named, seen)
        return False
    kind = node["type"]
    if kind in ("record", "error"):
        return any(_promoting_union(f["type"], named, seen) for f in node["fields"])
    if kind in ("array", "map"):
        return _promoting_union(node["items" if kind == "array" else "values"], named, seen)
    return False
