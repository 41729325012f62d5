"""Fuzzing the decoder: random and mutated bytes yield a complete record or a typed DecodeError,
fast. At full depth (``make fuzz``) 10,000 examples in all (3,000 random, 4,000 + 3,000 mutated
in the two framings), plus 2,000 generated spec violations; ``make test`` runs 30% of each, so
the suite stays short, and ``TMC_FUZZ_DEPTH`` sets the share.

An accepted record must re-encode to exactly the bytes that were read, up to the encodings the
spec allows for one value, which the oracle (tests/schemas/avro_canon.py) names and undoes:
``non-minimal-varint``, ``negative-block-count`` and ``several-blocks``. Nothing else differs.
A body refused for what it holds must be invalid to the oracle as well.
"""

import os
import time
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from fastavro import schemaless_writer
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from schemas.catalog import SchemaName, catalog
from schemas.codec import (
    BadBlockSize,
    BadBoolean,
    BadEnumIndex,
    BadUnionIndex,
    BadVarint,
    DecodeError,
    DuplicateMapKey,
    Framing,
    InvalidUtf8,
    NegativeLength,
    RecordCodec,
    SchemaRegistryClient,
    TrailingBytes,
    TruncatedMessage,
)
from schemas.records import TMCError, to_avro
from streams.testing.registry_stub import RegistryStub
from tests.schemas.avro_canon import canonical, varint
from tests.schemas.examples import tmc_error
from tests.schemas.violations import RAW, SYMBOLS, blocks, message, string

ERRORS = catalog().families[SchemaName.TMC_ERROR]
# Hostile bytes all the way: a regression that spins in fastavro's C code must fail, not hang.
pytestmark = pytest.mark.spin_guard(900)
# Reasons that judge the body itself (the oracle must agree the body is invalid).
BODY_REASONS = {
    "truncated",
    "trailing-bytes",
    "bad-union-index",
    "bad-enum-index",
    "bad-boolean",
    "negative-length",
    "bad-block-size",
    "invalid-utf8",
    "bad-varint",
    "int-out-of-range",
    "duplicate-map-key",
}
Writers = dict[bytes, tuple[Any, int]]  # header -> (parsed writer schema, body offset)
SHIPPED: Writers = {b"\xc3\x01" + v.fingerprint: (v.parsed, 10) for v in ERRORS.versions}


#: The share of each test's full example count to run (1.0 in ``make fuzz``).
DEPTH = float(os.environ.get("TMC_FUZZ_DEPTH", "0.3"))


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=max(1, round(examples * DEPTH)),
        deadline=500,
        suppress_health_check=[HealthCheck.too_slow],
    )


def _seeds(codec: RecordCodec[TMCError]) -> list[bytes]:
    """Valid encodings to mutate: full and sparse records, the latest and an old version."""
    sparse = tmc_error(cluster=None, event_id=None, emitter=None, resource=None, trace_id=None)
    seeds = [codec.encode(tmc_error()), codec.encode(sparse)]
    old = to_avro(tmc_error())
    del old["trace_id"]
    body = BytesIO()
    schemaless_writer(body, ERRORS.versions[0].parsed, old)
    seeds.append(b"\xc3\x01" + ERRORS.versions[0].fingerprint + body.getvalue())
    return seeds


def _mutations(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    def apply(data: bytes, ops: list[tuple[str, int, int, bytes]]) -> bytes:
        buf = bytearray(data)
        for op, at, bit, extra in ops:
            at %= len(buf) + 1
            if op == "flip" and at < len(buf):
                buf[at] ^= 1 << bit
            elif op == "truncate":
                del buf[at:]
            elif op == "insert":
                buf[at:at] = extra
            elif op == "delete":
                del buf[at : at + bit + 1]
            elif op == "overwrite":
                buf[at : at + len(extra)] = extra
            if not buf:
                break
        return bytes(buf)

    op = st.tuples(
        st.sampled_from(["flip", "truncate", "insert", "delete", "overwrite"]),
        st.integers(0, 400),
        st.integers(0, 7),
        st.binary(min_size=1, max_size=12) | st.sampled_from([b"\xff" * 9, b"\x80" * 10]),
    )
    return st.builds(apply, st.sampled_from(seeds), st.lists(op, min_size=1, max_size=4))


def _writer(data: bytes, writers: Writers) -> tuple[Any, int] | None:
    return writers.get(data[:10]) or writers.get(data[:5])


def _reencodes_to_what_was_read(record: TMCError, data: bytes, writers: Writers) -> None:
    found = _writer(data, writers)
    assert found is not None, "accepted under an unknown header"
    schema, offset = found
    canon = canonical(schema, data[offset:])
    assert canon is not None, "the decoder accepted a body the oracle calls invalid"
    for alternative in canon.alternatives:
        event(f"accepted with {alternative}")
    names = {f["name"] for f in schema["fields"]}
    datum = {k: v for k, v in to_avro(record).items() if k in names}
    out = BytesIO()
    schemaless_writer(out, schema, datum)
    assert out.getvalue() == canon.out


def _decodes_or_raises_typed(
    codec: RecordCodec[TMCError], writers: Writers = SHIPPED
) -> Callable[[bytes], None]:
    def check(data: bytes) -> None:
        started = time.thread_time()  # this thread's CPU: a busy machine does not count
        try:
            record: TMCError | DecodeError = codec.decode(data)
        except DecodeError as error:
            record = error
        elapsed = time.thread_time() - started
        event(type(record).__name__)  # --hypothesis-show-statistics shows the outcome mix
        if isinstance(record, DecodeError):
            assert record.reason
            assert record.hex_prefix == data[:32].hex()
            found = _writer(data, writers)
            if record.reason in BODY_REASONS and found is not None and len(data) >= found[1]:
                assert canonical(found[0], data[found[1] :]) is None, record
        else:
            codec.encode(record)  # complete: every field is present and valid again
            _reencodes_to_what_was_read(record, data, writers)
        assert elapsed < 0.5

    return check


@fuzz(3000)
@given(
    st.one_of(
        st.binary(max_size=400),
        st.builds(
            bytes.__add__,
            st.sampled_from([b"\xc3\x01" + v.fingerprint for v in ERRORS.versions]),
            st.binary(max_size=400),
        ),
    )
)
def test_random_bytes(data: bytes) -> None:
    _decodes_or_raises_typed(RecordCodec(TMCError))(data)


SINGLE = RecordCodec(TMCError)


@fuzz(4000)
@given(_mutations(_seeds(SINGLE)))
def test_mutated_single_object_encodings(data: bytes) -> None:
    _decodes_or_raises_typed(SINGLE)(data)


def test_mutated_confluent_encodings() -> None:
    with RegistryStub.running() as registry:
        client = SchemaRegistryClient(registry.url)
        codec = RecordCodec(TMCError, framing=Framing.CONFLUENT, registry=client)
        v1_id = registry.add(ERRORS.versions[0].text)
        full, sparse, v1 = _seeds(codec)
        seeds = [full, sparse, b"\x00" + v1_id.to_bytes(4, "big") + v1[10:]]
        writers = {b"\x00" + v1_id.to_bytes(4, "big"): (ERRORS.versions[0].parsed, 5)}
        writers[full[:5]] = (ERRORS.latest.parsed, 5)
        check: Any = _decodes_or_raises_typed(codec, writers)

        @fuzz(3000)
        @given(_mutations(seeds))
        def run(data: bytes) -> None:
            check(data)

        run()


# --- generated spec violations -----------------------------------------------------------------

_text = st.text(max_size=12)
_UNIONS = [f["name"] for f in RAW["fields"] if isinstance(f["type"], list)]
_STRINGS = ["component", "operation", "message"]
_INT64 = st.integers(-(2**63), 2**63 - 1)


@st.composite
def _datums(draw: st.DrawFn) -> dict[str, Any]:
    datum = to_avro(tmc_error())
    datum["type"] = draw(st.sampled_from(SYMBOLS["type"]))
    datum["severity"] = draw(st.sampled_from(SYMBOLS["severity"]))
    datum["message"] = draw(_text)
    datum["retryable"] = draw(st.booleans())
    datum["context"] = draw(st.dictionaries(_text, _text, max_size=3))
    datum["recovery_hint"] = draw(st.lists(_text, max_size=3))
    datum["cluster_name"] = draw(st.none() | _text)
    return datum


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@st.composite
def spec_violations(draw: st.DrawFn) -> tuple[bytes, type[DecodeError]]:
    """A TMCError message with one violation of a drawn kind, and the error it must raise."""
    datum = draw(_datums())
    kind = draw(st.sampled_from(sorted(_KINDS)))
    field, encoded, expected = _KINDS[kind](draw, datum)
    event(kind)
    return message(datum, field, encoded), expected


def _enum_index(draw: st.DrawFn, datum: dict[str, Any]) -> tuple[str, bytes, type[DecodeError]]:
    field = draw(st.sampled_from(["type", "severity"]))
    count = len(SYMBOLS[field])
    index = draw(_INT64.filter(lambda i: not 0 <= i < count))
    return field, varint(index), BadEnumIndex


def _union_index(draw: st.DrawFn, datum: dict[str, Any]) -> tuple[str, bytes, type[DecodeError]]:
    index = draw(_INT64.filter(lambda i: i not in (0, 1)))
    return (
        draw(st.sampled_from(_UNIONS)),
        varint(index) + draw(st.binary(max_size=4)),
        BadUnionIndex,
    )


def _boolean(draw: st.DrawFn, datum: dict[str, Any]) -> tuple[str, bytes, type[DecodeError]]:
    return "retryable", bytes([draw(st.integers(2, 255))]), BadBoolean


def _string_length(draw: st.DrawFn, datum: dict[str, Any]) -> tuple[str, bytes, type[DecodeError]]:
    length = draw(st.integers(-(2**63), -1))
    return draw(st.sampled_from(_STRINGS)), varint(length) + draw(st.binary()), NegativeLength


def _utf8(draw: st.DrawFn, datum: dict[str, Any]) -> tuple[str, bytes, type[DecodeError]]:
    raw = draw(st.binary(min_size=1, max_size=12).filter(_not_utf8))
    return draw(st.sampled_from(_STRINGS)), string(raw), InvalidUtf8


def _items(draw: st.DrawFn, field: str) -> list[bytes]:
    if field == "context":
        keys = draw(st.lists(_text, min_size=1, max_size=3, unique=True))
        return [string(k) + string(draw(_text)) for k in keys]
    return [string(t) for t in draw(st.lists(_text, min_size=1, max_size=3))]


def _block_size(draw: st.DrawFn, datum: dict[str, Any]) -> tuple[str, bytes, type[DecodeError]]:
    field = draw(st.sampled_from(["context", "recovery_hint"]))
    items = _items(draw, field)
    actual = len(b"".join(items))
    expected: type[DecodeError]
    if draw(st.booleans()):
        size, expected = draw(st.integers(-(2**63), -1)), NegativeLength
    else:
        size, expected = draw(st.integers(0, 2**62).filter(lambda n: n != actual)), BadBlockSize
    return field, blocks(items, negative=True, sizes=[size]), expected


def _repeated_key(draw: st.DrawFn, datum: dict[str, Any]) -> tuple[str, bytes, type[DecodeError]]:
    key = string(draw(_text))
    entries = [key + string(draw(_text)) for _ in range(draw(st.integers(2, 3)))]
    return "context", blocks(draw(st.permutations(entries))), DuplicateMapKey


def _varint(draw: st.DrawFn, datum: dict[str, Any]) -> tuple[str, bytes, type[DecodeError]]:
    if draw(st.booleans()):  # 11 bytes or more, the tail not empty
        groups = draw(st.lists(st.integers(0x80, 0xFF), min_size=10, max_size=14))
        last = draw(st.integers(0, 0x7F))
    else:  # 10 bytes whose value needs more than 64 bits
        groups = draw(st.lists(st.integers(0x80, 0xFF), min_size=9, max_size=9))
        last = draw(st.integers(2, 0x7F))
    return "timestamp", bytes([*groups, last]), BadVarint


_KINDS: dict[str, Callable[[st.DrawFn, dict[str, Any]], tuple[str, bytes, type[DecodeError]]]] = {
    "bad-enum-index": _enum_index,
    "bad-union-index": _union_index,
    "bad-boolean": _boolean,
    "negative-string-length": _string_length,
    "invalid-utf8": _utf8,
    "bad-block-size": _block_size,
    "duplicate-map-key": _repeated_key,
    "bad-varint": _varint,
}


@fuzz(2000)
@given(spec_violations())
def test_generated_spec_violations_raise_their_reason(
    case: tuple[bytes, type[DecodeError]],
) -> None:
    data, expected = case
    with pytest.raises(DecodeError) as raised:
        SINGLE.decode(data)
    assert type(raised.value) is expected, raised.value
    assert canonical(ERRORS.latest.parsed, data[10:]) is None


@fuzz(500)
@given(_datums(), st.data())
def test_a_valid_message_cut_or_extended_is_refused(
    datum: dict[str, Any], data: st.DataObject
) -> None:
    whole = SINGLE.avro.encode(datum)
    assert SINGLE.avro.decode(whole) == SINGLE.avro.decode(whole)  # valid as generated
    cut = data.draw(st.integers(0, len(whole) - 1))
    with pytest.raises(TruncatedMessage):
        SINGLE.avro.decode(whole[:cut])
    with pytest.raises(TrailingBytes):
        SINGLE.avro.decode(whole + data.draw(st.binary(min_size=1, max_size=8)))
