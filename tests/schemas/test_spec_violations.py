"""Bodies the Avro spec calls invalid are refused, each with its own reason; the encodings the spec
allows for one value are read like the canonical one; and the fast path vouches, on its own, for
what our writers produce."""

import threading
from datetime import date
from decimal import Decimal
from io import BytesIO
from typing import Any, cast

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from schemas.codec import (
    BadBlockSize,
    BadBoolean,
    BadEnumIndex,
    BadUnionIndex,
    BadVarint,
    DecodeError,
    DuplicateMapKey,
    IntOutOfRange,
    InvalidUtf8,
    NegativeLength,
    RecordCodec,
    TrailingBytes,
    TruncatedMessage,
)
from schemas.codec import body as body_module
from schemas.codec.body import BodyReader
from schemas.records import ErrorType, TMCError, to_avro
from tests.schemas.avro_canon import canonical, varint
from tests.schemas.examples import all_records, tmc_error
from tests.schemas.violations import (
    ERRORS,
    SYMBOLS,
    blocks,
    encode_fields,
    long_varint,
    message,
    string,
)

pytestmark = pytest.mark.spin_guard(120)  # hostile bytes: fail, don't hang, if a regression spins

CODEC = RecordCodec(TMCError)
DATUM = to_avro(tmc_error(type=ErrorType.SYNC_FAILURE, recovery_hint=("a", "b")))
TYPE_INDEX = SYMBOLS["type"].index


def _raises(data: bytes, kind: type[DecodeError], codec: Any = CODEC) -> DecodeError:
    with pytest.raises(kind) as raised:
        codec.decode(data)
    assert type(raised.value) is kind, raised.value
    assert raised.value.reason == kind.reason
    return raised.value


def _fastavro_reads(data: bytes) -> dict[str, Any]:
    """What fastavro 1.13 makes of the bytes on its own."""
    return cast(dict[str, Any], schemaless_reader(BytesIO(data[10:]), ERRORS.latest.parsed, None))


# One message per case; the comment says what plain fastavro 1.13.1 does with it.
CORPUS = [
    # fastavro: ClusterUnreachable (index 29 - 24 = 5): a wrong, valid-looking record
    ("SyncFailure sent as type index -24", message(DATUM, "type", varint(-24)), BadEnumIndex),
    ("type index -1", message(DATUM, "type", varint(-1)), BadEnumIndex),  # WorkloadFailure
    ("type index 29 of 29", message(DATUM, "type", varint(29)), BadEnumIndex),  # IndexError
    ("severity index 2**40", message(DATUM, "severity", varint(2**40)), BadEnumIndex),
    # fastavro: reads the string branch
    ("event_id branch -1", message(DATUM, "event_id", varint(-1) + string("x")), BadUnionIndex),
    ("cluster_name branch -2", message(DATUM, "cluster_name", varint(-2)), BadUnionIndex),  # null
    ("trace_id branch 2 of 2", message(DATUM, "trace_id", varint(2)), BadUnionIndex),
    ("retryable byte 0x02", message(DATUM, "retryable", b"\x02"), BadBoolean),  # fastavro: True
    ("retryable byte 0xff", message(DATUM, "retryable", b"\xff"), BadBoolean),  # fastavro: True
    ("component length -3", message(DATUM, "component", varint(-3) + b"abc"), NegativeLength),
    (
        "recovery_hint block size -4",
        message(DATUM, "recovery_hint", varint(-1) + varint(-4) + string("a") + b"\x00"),
        NegativeLength,
    ),
    (
        "recovery_hint block size 9 for 2 bytes",  # fastavro never reads block sizes
        message(DATUM, "recovery_hint", blocks([string("a")], negative=True, sizes=[9])),
        BadBlockSize,
    ),
    (
        "context block size 1 for 4 bytes",
        message(DATUM, "context", blocks([string("k") + string("v")], negative=True, sizes=[1])),
        BadBlockSize,
    ),
    (
        "context key repeated in one block",  # fastavro: the last value wins
        message(DATUM, "context", blocks([string("k") + string("1"), string("k") + string("2")])),
        DuplicateMapKey,
    ),
    ("message not UTF-8", message(DATUM, "message", string(b"\xc3\x28")), InvalidUtf8),
    (
        "context key not UTF-8",
        message(DATUM, "context", blocks([string(b"\xff") + string("v")])),
        InvalidUtf8,
    ),
    # fastavro: 2**69 wraps to 32
    ("timestamp in 11 bytes", message(DATUM, "timestamp", b"\x80" * 10 + b"\x01"), BadVarint),
    ("timestamp past 64 bits", message(DATUM, "timestamp", b"\xff" * 9 + b"\x7f"), BadVarint),
    ("one byte after the record", CODEC.encode(tmc_error()) + b"\x00", TrailingBytes),
    ("varint cut short", message(DATUM, "trace_id", b"\x82"), TruncatedMessage),
]


@pytest.mark.parametrize(("data", "kind"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_every_spec_violation_has_its_reason(data: bytes, kind: type[DecodeError]) -> None:
    error = _raises(data, kind)
    assert " at byte " in str(error)
    assert canonical(ERRORS.latest.parsed, data[10:]) is None  # the test oracle agrees


def test_fastavro_alone_reads_the_wrong_error_type() -> None:
    """The reason for all this: the bug the codec guards against, as plain fastavro shows it."""
    data = message(DATUM, "type", varint(-24))
    assert _fastavro_reads(data)["type"] == "ClusterUnreachable"
    assert _fastavro_reads(message(DATUM, "retryable", b"\x02"))["retryable"] is True


def test_a_repeated_key_in_a_later_map_block_is_refused() -> None:
    data = message(
        DATUM, "context", blocks([string("k") + string("1")], [string("k") + string("2")])
    )
    _raises(data, DuplicateMapKey)


def test_a_map_in_several_blocks_with_distinct_keys_reads_whole() -> None:
    data = message(
        DATUM, "context", blocks([string("k") + string("1")], [string("j") + string("2")])
    )
    assert CODEC.decode(data).context == {"k": "1", "j": "2"}
    nested = _nested(values=blocks([string("a") + varint(1)], [string("b") + varint(2)]))
    assert _read(NESTED, nested)["inner"]["values"] == {"a": 1, "b": 2}


# --- encodings the spec allows besides the canonical one ---------------------------------------

ALTERNATIVES = [
    (
        "negative-block-count",
        message(DATUM, "recovery_hint", blocks([string("a"), string("b")], negative=True)),
    ),
    ("several-blocks", message(DATUM, "recovery_hint", blocks([string("a")], [string("b")]))),
    (
        "negative-block-count",
        message(DATUM, "context", blocks([string("attempt") + string("2")], negative=True)),
    ),
    ("non-minimal-varint", message(DATUM, "type", long_varint(TYPE_INDEX("SyncFailure"), 3))),
    (
        "non-minimal-varint",
        message(DATUM, "event_id", long_varint(1, 10) + string(DATUM["event_id"])),
    ),
    (
        "non-minimal-varint",
        message(DATUM, "timestamp", long_varint(1772366400123, 10)),
    ),
]


@pytest.mark.parametrize(("named", "data"), ALTERNATIVES, ids=[a[0] for a in ALTERNATIVES])
def test_an_allowed_alternative_encoding_reads_as_the_canonical_one(
    named: str, data: bytes
) -> None:
    canon = canonical(ERRORS.latest.parsed, data[10:])
    assert canon is not None
    assert canon.alternatives[named] > 0
    record = CODEC.decode(data)
    assert record == CODEC.decode(b"\xc3\x01" + ERRORS.latest.fingerprint + bytes(canon.out))
    assert record.recovery_hint == ("a", "b")


def test_a_ten_byte_varint_within_64_bits_is_valid() -> None:
    schema = parse_schema("long")
    for value in (-(2**63), 2**63 - 1, -1):
        assert BodyReader(schema).read(long_varint(value, 10), 0) == value


# --- any schema, through the reader the codec uses --------------------------------------------

INTS = {"type": "record", "name": "I", "fields": [{"name": "n", "type": "int"}]}
NESTED = {
    "type": "record",
    "name": "Outer",
    "fields": [
        {"name": "first", "type": {"type": "array", "items": "long"}},  # anchored by a wrapper
        {"name": "maybe", "type": ["null", {"type": "array", "items": "string"}]},
        {
            "name": "inner",
            "type": {
                "type": "record",
                "name": "Inner",
                "fields": [
                    {"name": "flag", "type": "boolean"},
                    {"name": "values", "type": {"type": "map", "values": "long"}},  # end hook
                    {
                        "name": "grid",
                        "type": {"type": "array", "items": {"type": "array", "items": "int"}},
                    },
                ],
            },
        },
        {"name": "blob", "type": "bytes"},
    ],
}
GOOD = {
    "first": [1, 2],
    "maybe": ["x"],
    "inner": {"flag": True, "values": {"a": 1}, "grid": [[1], [2, 3]]},
    "blob": b"z",
}


def _read(schema: Any, data: bytes) -> Any:
    return BodyReader(parse_schema(schema)).read(data, 0)


def _encode(schema: Any, datum: Any) -> bytes:
    buf = BytesIO()
    schemaless_writer(buf, parse_schema(schema), datum)
    return buf.getvalue()


def _nested(
    *,
    first: bytes | None = None,
    maybe: bytes | None = None,
    values: bytes | None = None,
    grid: bytes | None = None,
    blob: bytes | None = None,
) -> bytes:
    good = _encode(NESTED, GOOD)
    parts = {
        "first": first or blocks([varint(1), varint(2)]),
        "maybe": maybe or varint(1) + blocks([string("x")]),
        "flag": b"\x01",
        "values": values or blocks([string("a") + varint(1)]),
        "grid": grid or blocks([blocks([varint(1)]), blocks([varint(2), varint(3)])]),
        "blob": blob or string(b"z"),
    }
    data = b"".join(parts.values())
    if not any((first, maybe, values, grid, blob)):
        assert data == good
    return data


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (_nested(blob=varint(-1)), NegativeLength),
        (_nested(first=varint(-1) + varint(-1) + varint(1) + b"\x00"), NegativeLength),
        (_nested(first=blocks([varint(1)], negative=True, sizes=[2])), BadBlockSize),
        (_nested(maybe=varint(1) + blocks([string("x")], negative=True, sizes=[0])), BadBlockSize),
        (_nested(maybe=varint(-1) + blocks([string("x")])), BadUnionIndex),
        (_nested(values=blocks([string("a") + varint(1)], negative=True, sizes=[5])), BadBlockSize),
        (
            _nested(values=blocks([string("a") + varint(1), string("a") + varint(2)])),
            DuplicateMapKey,
        ),
        (
            _nested(values=blocks([string("a") + varint(1)], [string("a") + varint(2)])),
            DuplicateMapKey,
        ),
        (_nested(grid=blocks([blocks([varint(1)], negative=True, sizes=[7])])), BadBlockSize),
        (_nested(grid=blocks([blocks([varint(1)])], negative=True, sizes=[1])), BadBlockSize),
    ],
    ids=[
        "bytes-length",
        "array-size",
        "first-field-array",
        "array-in-union",
        "union-branch",
        "nested-map",
        "nested-map-key",
        "nested-map-key-in-a-later-block",
        "array-in-array",
        "outer-of-nested",
    ],
)
def test_violations_anywhere_in_a_schema(data: bytes, kind: type[DecodeError]) -> None:
    with pytest.raises(kind):
        _read(NESTED, data)


def test_allowed_alternatives_anywhere_in_a_schema() -> None:
    negative = _nested(
        first=blocks([varint(1)], [varint(2)], negative=True),
        maybe=varint(1) + blocks([string("x")], negative=True),
        values=blocks([string("a") + varint(1)], negative=True),
        grid=blocks([blocks([varint(1)], negative=True), blocks([varint(2)], [varint(3)])]),
    )
    assert _read(NESTED, negative) == GOOD
    assert _read(NESTED, _nested()) == GOOD


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 2**40])
def test_an_int_must_fit_32_bits(value: int) -> None:
    with pytest.raises(IntOutOfRange):
        _read(INTS, varint(value))
    assert _read(INTS, varint(2**31 - 1)) == {"n": 2**31 - 1}


# --- the fast path vouches for what writers produce --------------------------------------------


@pytest.mark.parametrize("record", all_records(), ids=lambda r: type(r).__name__)
def test_canonical_bodies_never_need_the_exact_check(
    record: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    codec = RecordCodec(type(record))
    data = codec.encode(record)

    def not_expected(*args: Any) -> None:
        raise AssertionError("the fast path should have vouched for this body")

    monkeypatch.setattr(body_module, "check_body", not_expected)
    assert codec.decode(data) == record


def test_concurrent_decodes_stay_strict_and_correct() -> None:
    """Hooks share per-read state: a thread finding it busy takes the exact check instead."""
    good = CODEC.encode(tmc_error())
    bad = message(DATUM, "type", varint(-24))
    failures: list[str] = []

    def work() -> None:
        for _ in range(300):
            if CODEC.decode(good) != tmc_error():
                failures.append("good")
            try:
                CODEC.decode(bad)
                failures.append("bad accepted")
            except BadEnumIndex:
                pass

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_an_old_version_is_checked_strictly_too() -> None:
    v1 = ERRORS.versions[0]
    datum = {k: v for k, v in DATUM.items() if k != "trace_id"}
    names = [f["name"] for f in v1.raw["fields"]]
    at = names.index("type")
    v1_fields = [f["name"] for f in v1.raw["fields"]]
    head = encode_fields(datum, v1_fields[:at])
    tail = encode_fields(datum, v1_fields[at + 1 :])
    good = b"\xc3\x01" + v1.fingerprint + head + varint(TYPE_INDEX("SyncFailure")) + tail
    assert CODEC.decode(good).type is ErrorType.SYNC_FAILURE
    _raises(b"\xc3\x01" + v1.fingerprint + head + varint(-24) + tail, BadEnumIndex)


def test_logical_types_keep_their_readers_on_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = {
        "type": "record",
        "name": "L",
        "fields": [
            {"name": "day", "type": {"type": "int", "logicalType": "date"}},
            {
                "name": "price",
                "type": {
                    "type": "fixed",
                    "name": "P",
                    "size": 4,
                    "logicalType": "decimal",
                    "precision": 8,
                    "scale": 2,
                },
            },
            {"name": "tags", "type": {"type": "array", "items": "string"}},
        ],
    }
    datum = {"day": date(2026, 3, 1), "price": Decimal("12.34"), "tags": ["a"]}
    data = _encode(schema, datum)
    monkeypatch.setattr(body_module, "check_body", lambda *args: pytest.fail("not vouched"))
    assert _read(schema, data) == datum


# --- resolving an old writer version ------------------------------------------------------------


def _v1_bodies() -> list[bytes]:
    v1 = ERRORS.versions[0]
    out = []
    for error in all_records()[:2]:
        datum = {k: v for k, v in to_avro(error).items() if k not in ("trace_id", "custom_type")}
        out.append(_encode(v1.raw, datum))
    return out


def test_an_old_version_that_only_lacks_fields_resolves_like_fastavro() -> None:
    v1, latest = ERRORS.versions[0], ERRORS.latest
    reader = BodyReader(v1.parsed, latest.parsed)
    assert reader.added == {"trace_id": None, "custom_type": None}  # the shortcut applies
    for body in _v1_bodies():
        assert reader.read(body, 0) == schemaless_reader(BytesIO(body), v1.parsed, latest.parsed)


@pytest.mark.parametrize(
    ("writer_type", "reader_type"),
    [
        (["null", "string"], ["null", "string", "long"]),  # a different union
        (
            {"type": "enum", "name": "E", "symbols": ["A"]},
            {"type": "enum", "name": "E", "symbols": ["A", "B"]},
        ),
        (["float", "int"], ["float", "int"]),  # identical, but int is read as float
        ("int", "long"),  # a promotion
    ],
)
def test_anything_more_than_added_fields_is_left_to_fastavro(
    writer_type: Any, reader_type: Any
) -> None:
    writer = parse_schema(
        {"type": "record", "name": "R", "fields": [{"name": "f", "type": writer_type}]}
    )
    fields = [{"name": "f", "type": reader_type}, {"name": "g", "type": "int", "default": 0}]
    reader = parse_schema({"type": "record", "name": "R", "fields": fields})
    assert BodyReader(writer, reader).added is None
