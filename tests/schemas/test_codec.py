"""The codec: both framings, old writer versions, and a typed error for every way bytes go bad."""

import copy
import dataclasses
import json
import time
import tracemalloc
from io import BytesIO
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer

from schemas.catalog import SchemaName, catalog
from schemas.codec import (
    AvroCodec,
    BadEnumIndex,
    BadMagic,
    BadUnionIndex,
    CodecConfigError,
    DecodeError,
    EncodeError,
    Framing,
    InvalidUtf8,
    RecordCodec,
    RegistryUnavailable,
    SchemaRegistryClient,
    TrailingBytes,
    TruncatedMessage,
    UnknownFingerprint,
    UnknownSchemaId,
    UnusableWriterSchema,
)
from schemas.codec.framing import SINGLE_OBJECT_HEADER_LEN
from schemas.errors import TmcRecoveryError
from schemas.records import ErrorType, RecoveryResult, TMCError, to_avro
from streams.testing.registry_stub import RegistryStub
from tests.schemas.avro_canon import varint
from tests.schemas.examples import T0, all_records, recovery_result, tmc_error
from tests.schemas.isolation import run_isolated

ERRORS = catalog().families[SchemaName.TMC_ERROR]


def _body(schema: Any, datum: Any) -> bytes:
    buf = BytesIO()
    schemaless_writer(buf, schema, datum)
    return buf.getvalue()


def _confluent(registry: RegistryStub, record_type: Any = TMCError) -> RecordCodec[Any]:
    client = SchemaRegistryClient(registry.url)
    return RecordCodec(record_type, framing=Framing.CONFLUENT, registry=client)


@pytest.mark.parametrize("record", all_records(), ids=lambda r: type(r).__name__)
def test_every_record_round_trips_in_single_object_framing(record: Any) -> None:
    codec = RecordCodec(type(record))
    data = codec.encode(record)
    assert data[:10] == b"\xc3\x01" + catalog().families[record.schema].latest.fingerprint
    assert codec.decode(data) == record


@pytest.mark.parametrize("record", all_records(), ids=lambda r: type(r).__name__)
def test_every_record_round_trips_in_confluent_framing(record: Any, registry: RegistryStub) -> None:
    codec = _confluent(registry, type(record))
    data = codec.encode(record)
    (schema_id,) = registry.schemas
    assert data[:5] == b"\x00" + schema_id.to_bytes(4, "big")
    assert json.loads(registry.schemas[schema_id]) == json.loads(codec.avro.schema.text)
    assert codec.decode(data) == record


def test_confluent_encoding_registers_once_under_the_record_name(registry: RegistryStub) -> None:
    codec = _confluent(registry)
    for _ in range(5):
        codec.encode(tmc_error())
    assert registry.requests == [("POST", "/subjects/io.kcp.tmc.TMCError/versions")]


def test_one_codec_decodes_both_framings(registry: RegistryStub) -> None:
    confluent = _confluent(registry).encode(tmc_error())
    single = RecordCodec(TMCError).encode(tmc_error())
    reader = RecordCodec(TMCError, registry=SchemaRegistryClient(registry.url))
    assert reader.decode(confluent) == reader.decode(single) == tmc_error()


def _v1_datum() -> dict[str, Any]:
    datum = to_avro(tmc_error())
    del datum["trace_id"]
    return datum


def test_an_old_version_decodes_into_the_latest_record() -> None:
    v1 = ERRORS.versions[0]
    data = b"\xc3\x01" + v1.fingerprint + _body(v1.parsed, _v1_datum())
    decoded = RecordCodec(TMCError).decode(data)
    assert decoded.trace_id is None
    assert decoded.cluster_name == "edge-1"
    assert decoded.timestamp == T0


def test_a_newer_registered_writer_resolves_unknown_symbols_to_the_default(
    registry: RegistryStub,
) -> None:
    newer = json.loads(ERRORS.latest.text)
    newer["fields"].append({"name": "tenant", "type": "string", "default": ""})
    next(f for f in newer["fields"] if f["name"] == "type")["type"]["symbols"].append("Quantum")
    schema_id = registry.add(json.dumps(newer))
    datum = {**to_avro(tmc_error()), "type": "Quantum", "tenant": "t-1"}
    data = b"\x00" + schema_id.to_bytes(4, "big") + _body(parse_schema(newer), datum)
    decoded = _confluent(registry).decode(data)
    assert decoded.type is ErrorType.UNKNOWN
    assert decoded.message == tmc_error().message


async def test_decode_async_fetches_the_writer_schema_off_the_event_loop(
    registry: RegistryStub,
) -> None:
    data = _confluent(registry).encode(tmc_error())
    fresh = RecordCodec(TMCError, registry=SchemaRegistryClient(registry.url))
    assert await fresh.decode_async(data) == tmc_error()
    assert ("GET", f"/schemas/ids/{data[4]}") in registry.requests


def test_a_fields_reader_gives_what_a_full_decode_gives_of_those_fields() -> None:
    codec = RecordCodec(RecoveryResult).avro
    data = codec.encode(to_avro(recovery_result()))
    names = ("state", "start_time", "end_time")
    full = codec.decode(data)
    assert codec.fields_reader(names)(data) == {name: full[name] for name in names}


def test_a_fields_reader_reads_an_old_version_and_refuses_garbage_like_decode() -> None:
    v1 = ERRORS.versions[0]
    old = b"\xc3\x01" + v1.fingerprint + _body(v1.parsed, _v1_datum())
    codec = RecordCodec(TMCError).avro
    read = codec.fields_reader(("cluster_name", "trace_id"))
    assert read(old) == {"cluster_name": "edge-1", "trace_id": None}
    latest_header = codec.encode(to_avro(tmc_error()))[:SINGLE_OBJECT_HEADER_LEN]
    with pytest.raises(DecodeError):
        read(latest_header + b"\xff\xff\xff")


def _raises(codec: AvroCodec | RecordCodec[Any], data: bytes, kind: type[DecodeError]) -> Any:
    with pytest.raises(kind) as raised:
        codec.decode(data)
    error = raised.value
    assert isinstance(error, TmcRecoveryError)
    assert type(error) is kind  # exactly this reason, not a sibling
    assert error.hex_prefix == data[:32].hex()
    assert error.reason in str(error)
    return error


VALID = RecordCodec(TMCError).encode(tmc_error())


@pytest.mark.spin_guard(60)  # hostile bytes: fail, don't hang, if a regression spins in C
@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", TruncatedMessage),
        (b"\xc3", TruncatedMessage),
        (b"\xc3\x01\x12\x34", TruncatedMessage),
        (b"\x00\x00\x01", TruncatedMessage),
        (VALID[:-1], TruncatedMessage),
        (VALID[:10], TruncatedMessage),
        (b"\x01" + VALID[1:], BadMagic),
        (b"{json: 1}", BadMagic),
        (b"\xc3\x02" + VALID[2:], BadMagic),
        (b"\xc3\x01" + b"\x00" * 8 + VALID[10:], UnknownFingerprint),
        (VALID + b"\x00", TrailingBytes),
        (VALID[:10] + b"\x00\x7e" + VALID[12:], BadEnumIndex),  # ErrorType index 63 of 29
        (VALID[:10] + b"\x06" + VALID[11:], BadUnionIndex),  # union branch 3 of 2
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
def test_bad_bytes_raise_a_typed_error(data: bytes, kind: type[DecodeError]) -> None:
    _raises(RecordCodec(TMCError), data, kind)


def test_invalid_utf8_has_its_own_reason() -> None:
    datum = to_avro(tmc_error())
    datum["component"] = "syncer"
    data = RecordCodec(TMCError).avro.encode(datum)
    at = data.index(b"syncer")
    error = _raises(RecordCodec(TMCError), data[:at] + b"\xff\xfe" + data[at + 2 :], InvalidUtf8)
    assert f"component at byte {at}" in str(error)


def test_a_record_of_another_family_is_refused() -> None:
    data = RecordCodec(RecoveryResult).encode(recovery_result())
    error = _raises(RecordCodec(TMCError), data, UnusableWriterSchema)
    assert "RecoveryResult" in str(error)


def test_confluent_decode_without_a_registry_is_a_typed_error(registry: RegistryStub) -> None:
    data = _confluent(registry).encode(tmc_error())
    error = _raises(RecordCodec(TMCError), data, UnknownSchemaId)
    assert "no registry" in str(error)
    assert not error.transient


def test_an_unknown_schema_id_is_a_typed_error(registry: RegistryStub) -> None:
    codec = _confluent(registry)
    _raises(codec, b"\x00\x00\x00\x30\x39" + VALID[10:], UnknownSchemaId)


def test_an_unreachable_registry_is_transient_and_fails_fast(registry: RegistryStub) -> None:
    data = _confluent(registry).encode(tmc_error())
    reader = RecordCodec(TMCError, registry=SchemaRegistryClient(registry.url, retry_after=30))
    registry.fail_with = 503
    assert _raises(reader, data, RegistryUnavailable).transient
    asked = len(registry.requests)
    started = time.thread_time()  # this thread's CPU: a busy machine does not count
    for other_id in range(1, 50):
        _raises(reader, b"\x00" + other_id.to_bytes(4, "big") + VALID[10:], RegistryUnavailable)
    assert len(registry.requests) == asked
    assert time.thread_time() - started < 0.5


@pytest.mark.parametrize(
    "text",
    [
        '{"type": "string"}',
        '{"type": "object", "properties": {}}',
        "not json",
    ],
    ids=["other-avro-type", "json-schema", "garbage"],
)
def test_a_registered_schema_that_is_not_ours_is_refused(registry: RegistryStub, text: str) -> None:
    schema_id = registry.add(text) if text != "not json" else 77
    if text == "not json":
        registry.schemas[77] = text
    data = b"\x00" + schema_id.to_bytes(4, "big") + VALID[10:]
    _raises(_confluent(registry), data, UnusableWriterSchema)


def test_a_writer_schema_with_zero_width_array_items_is_refused_not_run(
    registry: RegistryStub,
) -> None:
    hostile = copy.deepcopy(json.loads(ERRORS.latest.text))
    hostile["fields"].insert(0, {"name": "pad", "type": {"type": "array", "items": "null"}})
    schema_id = registry.add(json.dumps(hostile))
    # 2**62 nulls claimed by nine bytes: fastavro would loop (and grow a list) until memory runs
    # out, inside compiled code where pytest-timeout's signal cannot stop it. So the decode runs
    # in a child process, with a timeout and a memory cap.
    data = b"\x00" + schema_id.to_bytes(4, "big") + varint(2**62) + VALID[10:]
    printed = run_isolated(
        f"""
        import time
        from schemas.codec import DecodeError, Framing, RecordCodec, SchemaRegistryClient
        from schemas.records import TMCError

        registry = SchemaRegistryClient({registry.url!r})
        codec = RecordCodec(TMCError, framing=Framing.CONFLUENT, registry=registry)
        started = time.monotonic()
        try:
            codec.decode(bytes.fromhex({data.hex()!r}))
        except DecodeError as error:
            print(type(error).__name__, time.monotonic() - started)
        """,
        timeout=30,
    )
    kind, seconds = printed.split()
    assert kind == UnusableWriterSchema.__name__
    assert float(seconds) < 1.0


def test_an_isolated_run_that_spins_fails_the_test_instead_of_hanging_it() -> None:
    with pytest.raises(pytest.fail.Exception, match="still running after 2s"):
        run_isolated("while True: pass", timeout=2)


def _prefix_before(field: str) -> bytes:
    """The valid encoding of a TMCError's fields before ``field``."""
    raw = json.loads(ERRORS.latest.text)
    index = next(i for i, f in enumerate(raw["fields"]) if f["name"] == field)
    head = parse_schema({**raw, "fields": raw["fields"][:index]})
    return b"\xc3\x01" + ERRORS.latest.fingerprint + _body(head, to_avro(tmc_error()))


@pytest.mark.parametrize(
    ("field", "claim"),
    [
        ("component", varint(2**62)),  # a string claiming 4 EiB
        ("component", varint(2**31)),
        ("recovery_hint", varint(2**62)),  # an array claiming 2**62 items
        ("recovery_hint", varint(-(2**62)) + varint(2**40)),  # negative count: block size next
        ("context", varint(2**62)),  # a map claiming 2**62 entries
    ],
    ids=["string-2^62", "string-2^31", "array-2^62", "array-negative-block", "map-2^62"],
)
@pytest.mark.spin_guard(60)  # hostile bytes: fail, don't hang, if a regression spins in C
def test_a_malicious_length_neither_allocates_nor_hangs(field: str, claim: bytes) -> None:
    data = _prefix_before(field) + claim + b"\x02ab" * 4
    tracemalloc.start()
    started = time.thread_time()  # this thread's CPU: a busy machine does not count
    try:
        _raises(RecordCodec(TMCError), data, TruncatedMessage)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.thread_time() - started < 1.0
    assert peak < 1_000_000


def test_a_record_that_does_not_fit_the_schema_is_an_encode_error() -> None:
    datum = to_avro(tmc_error())
    del datum["component"]
    with pytest.raises(EncodeError, match="TMCError"):
        RecordCodec(TMCError).avro.encode(datum)


def test_confluent_framing_needs_a_registry() -> None:
    with pytest.raises(CodecConfigError):
        AvroCodec(SchemaName.TMC_ERROR, framing=Framing.CONFLUENT)


def test_a_memo_decodes_the_same_bytes_once_and_keeps_only_the_newest() -> None:
    codec = RecordCodec(RecoveryResult, memo=2)
    first, second, third = (codec.encode(recovery_result(recovery_id=f"rec-{n}")) for n in range(3))
    decoded = codec.decode(first)
    assert codec.decode(bytes(first)) is decoded, "equal bytes, the same record"
    assert codec.decode(second) is not decoded
    codec.decode(third)  # the memo holds two: the first is dropped
    assert codec.decode(first) == decoded
    assert codec.decode(first) is not decoded


def test_a_memo_knows_the_records_it_encoded_both_ways() -> None:
    codec = RecordCodec(RecoveryResult, memo=2)
    record = recovery_result()
    data = codec.encode(record)
    assert codec.decode(bytes(data)) is record, "its bytes decode as the record itself"
    assert codec.encode(record) is data, "encoded again: the same bytes, not a new encode"
    equal = dataclasses.replace(record)
    assert codec.encode(equal) == data, "an equal record encodes equal"
    for n in range(2):
        codec.encode(recovery_result(recovery_id=f"other-{n}"))
    assert codec.encode(record) is not data, "past the memo's size it is encoded anew"
    assert codec.encode(record) == data
    plain = RecordCodec(RecoveryResult)
    assert plain.decode(plain.encode(record)) is not record, "no memo: nothing kept"


def test_a_memo_never_keeps_a_failure() -> None:
    codec = RecordCodec(RecoveryResult, memo=8)
    garbage = codec.encode(recovery_result())[:12]
    for _ in range(2):
        with pytest.raises(DecodeError):
            codec.decode(garbage)
    assert RecordCodec(RecoveryResult).decode(codec.encode(recovery_result())) == recovery_result()


def test_a_field_finder_finds_a_field_only_in_the_latest_version_under_its_header() -> None:
    codec = RecordCodec(TMCError).avro
    fields = codec.schema.raw["fields"]
    before = [f["name"] for f in fields].index("cluster_name")
    prefix = parse_schema({**codec.schema.raw, "fields": fields[:before]})
    datum = to_avro(tmc_error())
    body = BytesIO()
    schemaless_writer(body, prefix, datum)
    find = codec.field_finder("cluster_name")
    assert find(codec.encode(datum)) == SINGLE_OBJECT_HEADER_LEN + len(body.getvalue())
    v1 = ERRORS.versions[0]
    assert find(b"\xc3\x01" + v1.fingerprint + _body(v1.parsed, _v1_datum())) is None
    assert find(codec.encode(datum)[:SINGLE_OBJECT_HEADER_LEN] + b"\xff\xff\xff") is None
