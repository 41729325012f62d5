"""Strict Avro reading at fastavro's speed: fastavro itself, on a transformed writer schema.

fastavro 1.13 reads some bodies the Avro spec calls invalid: a negative union or enum index wraps
around Python's list indexing (a SyncFailure sent with type index -24 reads as
ClusterUnreachable), any non-zero boolean byte reads as True, and an array or map block's byte size
is never looked at. A pure-Python reader that checks everything (:mod:`.conformance`) is about ten
times slower, so the hot path instead hands fastavro's compiled reader a *transformed* copy of the
writer schema that reads the same bytes but cannot be fooled:

- a union becomes a dict ``{"type": "union", 0: branch0, 1: branch1, ...}``: fastavro looks the
  branch up with ``schema[index]``, which on a dict raises KeyError for any index, negative
  included, that is not a branch;
- an enum's symbol list becomes a dict ``{0: "A", 1: "B", ...}`` the same way;
- a boolean becomes a one-byte ``fixed`` whose (custom) logical type accepts only 00 and 01;
- an ``int`` gets a logical type that checks the value fits 32 bits;
- an array or map needs the position where it starts: the field before it gets a logical type
  that records the read position (an "anchor"), and once the array is read, the varint at that
  position must be the item count (one block, positive count: no block size to get wrong).
  Otherwise (several blocks, or a negative count with a byte size, as hamba/avro writes every
  array) the exact check looks at that array alone. Arrays that are top-level fields are checked
  after the read; nested ones by a logical type on the array.
- a map's values of a primitive type get a logical type that counts them: a map that read more
  values than it holds keys repeated a key (the spec forbids it; fastavro keeps the last), so
  its whole body takes the exact check, which names the repeated key. fastavro looks a logical
  type up for every value, so this costs about 6% of a TMCError's decode (``python -m
  bench.codec``: 0.86x raw fastavro, 0.92x without it); a decode into typed records, what the
  worker does, about 3%.

Anything the transformed read raises, or cannot vouch for, sends the body to the exact check,
which names the first violation. What this fast path does not see (the exact check does, when it
runs): varints longer than 10 bytes or overflowing 64 bits (fastavro reads them with wrapped
values), and a repeated key in a later block of a map whose values are not primitives (records,
enums, fixed, unions, arrays or maps: no shipped schema has one).

Requires fastavro's compiled reader (``fastavro._read``); without it every body takes the exact
check and then fastavro's plain reader, which is correct but slower.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from io import BytesIO
from typing import Any

from fastavro.read import LOGICAL_READERS

from schemas.codec.conformance import check_value
from schemas.codec.errors import DecodeError

try:  # the compiled reader's entry point, called directly: schemaless_reader re-walks the
    # schema's named types and builds its options on every call (5% of a TMCError decode)
    _read_data: Callable[..., Any] | None = importlib.import_module("fastavro._read")._read_data
except (ImportError, AttributeError):  # pragma: no cover - fastavro without its C extension
    _read_data = None

_OPTIONS = {
    "return_record_name": False,
    "return_record_name_override": False,
    "handle_unicode_errors": "strict",
    "return_named_type": False,
    "return_named_type_override": False,
}
_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
_BOOLEANS = {b"\x00": False, b"\x01": True}
_PREFIX = "tmc"


class NotVouched(Exception):
    """The fast path cannot vouch for these bytes; the exact check must look at them."""


# Per-read state for the logical-type hooks, which fastavro calls with (value, writer schema,
# reader schema) only. One fast read at a time (see _LOCK); a read that finds it taken by another
# thread takes the exact check instead.
_LOCK = threading.Lock()
_anchors: list[int] = []
_push = _anchors.append
_counts: list[int] = []  # beside each anchor: the map values read since it (see _count)
_open = _counts.append
_tell: Callable[[], int] = BytesIO().tell
_raw = b""


_Source = tuple[Any, Mapping[str, Any]]  # an array's writer schema node and the named types


def _checks_out(source: _Source, start: int) -> bool:
    """Whether the array at ``start`` is valid to the letter, its block sizes included."""
    try:
        check_value(source[0], source[1], _raw, start)
    except DecodeError:
        return False
    return True


def _one_block(start: int, count: int) -> bool:
    """Whether the varint at ``start`` says ``count``: the whole array is a single block with a
    positive count (then nothing follows it but the terminating zero, and it has no byte size)."""
    byte = _raw[start]
    if byte < 0x80:
        return byte == count << 1
    value = shift = 0
    for byte in _raw[start : start + 10]:  # non-minimal and long varints
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return (value >> 1) ^ -(value & 1) == count
        shift += 7
    return False


# --- the logical-type hooks ------------------------------------------------------------------
# A node's hooks are named by its features (boolean, int, anchor, end) plus the logical type it
# already had, whose reader still runs last; fastavro looks them up as "<type>-<logicalType>".


def _hook(features: frozenset[str], original: Callable[..., Any] | None) -> Callable[..., Any]:
    if features == {"boolean"}:
        return lambda value, writer, reader: _BOOLEANS[value]
    if features == {"count"}:
        return _count
    if features == {"boolean", "anchor"}:

        def boolean_anchor(value: bytes, writer: Any, reader: Any) -> bool:
            _push(_tell())
            _open(0)
            return _BOOLEANS[value]

        return boolean_anchor
    if features == {"anchor"}:
        if original is None:

            def anchor(value: Any, writer: Any, reader: Any) -> Any:
                _push(_tell())
                _open(0)
                return value

            return anchor

        def anchor_then(value: Any, writer: Any, reader: Any) -> Any:
            _push(_tell())
            _open(0)
            return original(value, writer, reader)

        return anchor_then
    if features == {"end"}:

        def end(value: Any, writer: Any, reader: Any) -> Any:
            start, read = _anchors.pop(), _counts.pop()
            if writer.get(_COUNTED, False) and read != len(value):
                raise NotVouched
            if _one_block(start, len(value)) or _checks_out(writer[_SOURCE], start):
                return value
            raise NotVouched

        return end

    def general(value: Any, writer: Any, reader: Any) -> Any:
        if "boolean" in features:
            value = _BOOLEANS[value]
        if "int" in features and not _INT_MIN <= value <= _INT_MAX:
            raise NotVouched
        if "count" in features:
            _counts[-1] += 1
        if "end" in features:
            start, read = _anchors.pop(), _counts.pop()
            if writer.get(_COUNTED, False) and read != len(value):
                raise NotVouched
            if not (_one_block(start, len(value)) or _checks_out(writer[_SOURCE], start)):
                raise NotVouched
        if "anchor" in features:
            _push(_tell())
            _open(0)
        return value if original is None else original(value, writer, reader)

    return general


def _count(value: Any, writer: Any, reader: Any) -> Any:
    """A map value was read: one more for the innermost open anchor, its map's."""
    _counts[-1] += 1
    return value


_HOOKS: dict[str, tuple[frozenset[str], str | None]] = {}


def _logical_name(kind: str, features: frozenset[str], original: str | None) -> str:
    """Register (once) and name the hook for a node of type ``kind``."""
    name = "+".join([_PREFIX, *sorted(features)]) + (f"~{original}" if original else "")
    if name not in _HOOKS:
        _HOOKS[name] = (features, original)
    key = f"{kind}-{name}"
    if key not in LOGICAL_READERS:
        original_reader = LOGICAL_READERS.get(f"{kind}-{original}") if original else None
        LOGICAL_READERS[key] = _hook(features, original_reader)
    return name


def _with(node: Any, feature: str) -> Any | None:
    """``node`` with one more hook feature, or None for a bare name (it can't carry one)."""
    if isinstance(node, str):
        if node in _PLAIN:
            return {"type": node, "logicalType": _logical_name(node, frozenset({feature}), None)}
        return None  # a reference to a named type
    kind = node["type"]
    current = node.get("logicalType")
    features: frozenset[str] = frozenset()
    original = current
    if current in _HOOKS:
        features, original = _HOOKS[current]
    return {**node, "logicalType": _logical_name(kind, features | {feature}, original)}


_PLAIN = frozenset({"null", "long", "float", "double", "bytes", "string"})
_SOURCE = "tmc-source"  # on an array's twin: its writer schema node, for the exact check
_COUNTED = "tmc-counted"  # on a map's twin whose values are counted (_count)
_BOOLEAN = {"type": "fixed", "name": "tmc.strict.boolean", "size": 1}
_HERE = {"type": "fixed", "name": "tmc.strict.here", "size": 0}  # reads nothing: an anchor spot


def _unwrap(value: Mapping[str, Any], writer: Any, reader: Any) -> Any:
    return value["v"]


LOGICAL_READERS[f"record-{_PREFIX}-unwrap"] = _unwrap


class _Transform:
    """Builds the strict twin of one parsed writer schema."""

    def __init__(self, named: Mapping[str, Any]) -> None:
        self.source = named
        self.named: dict[str, Any] = {}

    def node(self, node: Any) -> Any:
        if isinstance(node, list):
            return {"type": "union", **{i: self.anchored(b) for i, b in enumerate(node)}}
        if isinstance(node, str):
            if node == "boolean":
                return {**_BOOLEAN, "logicalType": _logical_name("fixed", _BOOL_FEATURES, None)}
            if node == "int":
                return {"type": "int", "logicalType": _logical_name("int", _INT_FEATURES, None)}
            if node in self.source and node not in self.named:
                self.define(self.source[node])
            return node
        kind = node["type"]
        if kind in ("record", "error", "enum", "fixed"):
            return self.define(node)
        if kind == "array":
            return {
                "type": kind,
                "items": self.anchored(node["items"]),
                _SOURCE: (node, self.source),
            }
        if kind == "map":
            values = self.anchored(node["values"])
            counted = _with(values, "count") if _countable(values) else None
            twin = {"type": kind, "values": counted or values, _SOURCE: (node, self.source)}
            return {**twin, _COUNTED: counted is not None}
        if kind == "int":
            original = node.get("logicalType")
            return {**node, "logicalType": _logical_name("int", _INT_FEATURES, original)}
        if kind == "boolean":
            return self.node("boolean")
        return node

    def define(self, node: Mapping[str, Any]) -> Any:
        """A named type's strict twin, made once (a recursive type refers to it by name)."""
        name = node["name"]
        if name in self.named:
            return self.named[name]
        kind = node["type"]
        if kind == "enum":
            twin: dict[str, Any] = {"type": "enum", "name": name}
            twin["symbols"] = dict(enumerate(node["symbols"]))
        elif kind == "fixed":
            twin = dict(node)  # a logical type's reader may need more keys (decimal: scale)
        else:
            twin = {"type": "record", "name": name, "fields": []}
        self.named[name] = twin
        if kind in ("record", "error"):
            twin["fields"] = self.fields(node["fields"], top=False)[0]
        return twin

    def anchored(self, node: Any) -> Any:
        """A node in a position with no sibling before it: arrays get their own anchor."""
        twin = self.node(node)
        if _is_blocks(twin):
            return self.wrapped(twin)
        return twin

    def wrapped(self, blocks: Mapping[str, Any]) -> Any:
        here = {**_HERE, "logicalType": _logical_name("fixed", _ANCHOR, None)}
        return {
            "type": "record",
            "name": "tmc.strict.anchored",
            "logicalType": f"{_PREFIX}-unwrap",
            "fields": [{"name": "a", "type": here}, {"name": "v", "type": _with(blocks, "end")}],
        }

    def fields(self, fields: list[Mapping[str, Any]], top: bool) -> tuple[list[Any], list[str]]:
        """The fields' twins, each array anchored by the field before it. With ``top``, those
        arrays are checked by the caller after the read, in the order of the returned names."""
        twins = [{"name": f["name"], "type": self.node(f["type"])} for f in fields]
        checked_after: list[str] = []
        for i, twin in enumerate(twins):
            if not _is_blocks(twin["type"]):
                continue
            before = _with(twins[i - 1]["type"], "anchor") if i > 0 else None
            if before is None:  # first field, or a named type before it: anchor it itself
                twin["type"] = self.wrapped(twin["type"])
                continue
            twins[i - 1]["type"] = before
            if top:
                checked_after.append(twin["name"])
            else:
                twin["type"] = _with(twin["type"], "end")
        return twins, checked_after


_BOOL_FEATURES = frozenset({"boolean"})
_INT_FEATURES = frozenset({"int"})
_ANCHOR = frozenset({"anchor"})


def _is_blocks(node: Any) -> bool:
    return isinstance(node, dict) and node["type"] in ("array", "map")


def _is_counted(node: Any) -> bool:
    return isinstance(node, dict) and node.get(_COUNTED, False)


def _countable(values: Any) -> bool:
    """Whether a map's values take the counting hook: primitives and their strict twins. Other
    values are not counted (the gap the module docstring names)."""
    if isinstance(values, str):
        return values in _PLAIN
    return values["type"] in _PLAIN | {"int"} or values.get("name") == _BOOLEAN["name"]


class StrictReader:
    """Reads bodies written with one writer schema, refusing what the spec calls invalid."""

    def __init__(self, parsed: Any) -> None:
        named = parsed.get("__named_schemas", {}) if isinstance(parsed, Mapping) else {}
        transform = _Transform(named)
        after: list[str] = []
        counted: set[str] = set()
        if isinstance(parsed, Mapping) and parsed["type"] in ("record", "error"):
            # The top level's own twin checks its arrays after the read; the named twin (for a
            # recursive reference) checks them with hooks like any nested record.
            fields, after = transform.fields(parsed["fields"], top=True)
            twin = {**transform.define(parsed), "fields": fields}
            counted = {f["name"] for f in fields if _is_counted(f["type"])}
        else:
            twin = transform.anchored(parsed)
        self.schema = twin
        sources = {f["name"]: (f["type"], named) for f in parsed.get("fields", ())} if after else {}
        self.read = _reader(
            twin,
            {"writer": transform.named, "reader": {}},
            tuple((n, sources[n], n in counted) for n in after),
        )
        """``read(data, offset)``: the datum in ``data[offset:]`` as the writer wrote it. Raises
        :class:`NotVouched`, or whatever fastavro raised, when the exact check must decide."""


def _reader(
    schema: Any, named: dict[str, Any], after: tuple[tuple[str, _Source, bool], ...]
) -> Callable[[bytes, int], Any]:
    """``after``: each top-level array or map checked after the read, with its writer schema
    node and whether it is a map whose values are counted."""
    read_data = _read_data
    if read_data is None:  # pragma: no cover

        def cannot(data: bytes, offset: int) -> Any:
            raise NotVouched

        return cannot
    options = _OPTIONS
    acquire, release = _LOCK.acquire, _LOCK.release
    anchors, counts = _anchors, _counts
    expected = len(after)
    pair = expected == 2  # the common case (every shipped schema), unrolled: it is 1.5% faster
    (first, source1, map1), (second, source2, map2) = (
        after if pair else (("", (None, {}), False),) * 2
    )

    def sound(source: _Source, start: int, count: int) -> bool:
        return _one_block(start, count) or _checks_out(source, start)

    def read(data: bytes, offset: int) -> Any:
        global _tell, _raw
        buf = BytesIO(data)
        buf.seek(offset)
        if not acquire(False):
            raise NotVouched  # another thread is mid-read: the hooks' state is theirs
        try:
            _tell = buf.tell
            _raw = data
            anchors.clear()
            counts.clear()
            datum = read_data(buf, schema, named, None, options)
            # Each array's count, where it starts, is usually one byte: twice the count.
            if pair:
                at1, at2 = anchors
                n1, n2 = len(datum[first]), len(datum[second])
                if (map1 and counts[0] != n1) or (map2 and counts[1] != n2):
                    raise NotVouched  # a map repeated a key
                if (data[at1] != n1 << 1 or data[at2] != n2 << 1 or n1 > 63 or n2 > 63) and not (
                    sound(source1, at1, n1) and sound(source2, at2, n2)
                ):
                    raise NotVouched
            elif expected:
                if len(anchors) != expected:
                    raise NotVouched
                for (name, source, counted), at, read in zip(after, anchors, counts, strict=True):
                    if counted and read != len(datum[name]):
                        raise NotVouched  # a map repeated a key
                    if not sound(source, at, len(datum[name])):
                        raise NotVouched
        finally:
            release()
        if buf.tell() != len(data):
            raise NotVouched
        if not data[offset::9].isascii() and _nine_high_bytes(data[offset:]):
            raise NotVouched
        return datum

    return read


_HIGH_BITS = bytes(byte >> 7 for byte in range(256))
_NINE_HIGH = b"\x01" * 9


def _nine_high_bytes(body: bytes) -> bool:
    """Whether ``body`` holds 9 bytes >= 0x80 in a row, as every varint of 10 or more bytes does.
    fastavro reads varints of any length, wrapping what does not fit 64 bits; the exact check
    refuses them. Text in non-Latin scripts trips this too, and takes the exact check.

    The caller tries the cheap necessary condition first: a run of 9 holds one of every 9th byte.
    """
    # Each byte >= 0x80 becomes two in UTF-8: fewer than 9 of them anywhere, no run of 9.
    if len(body.decode("latin-1").encode()) - len(body) < 9:
        return False
    return _NINE_HIGH in body.translate(_HIGH_BITS)
