"""Fuzzing the decoder: random and mutated bytes yield a complete record or a typed DecodeError,
fast. 10,000 examples in all (3,000 random, 4,000 + 3,000 mutated in the two framings)."""

import time
from collections.abc import Callable
from io import BytesIO
from typing import Any

from fastavro import schemaless_writer
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from schemas.catalog import SchemaName, catalog
from schemas.codec import DecodeError, Framing, RecordCodec, SchemaRegistryClient
from schemas.records import TMCError, to_avro
from tests.schemas.examples import tmc_error
from tests.schemas.registry_stub import RegistryStub

ERRORS = catalog().families[SchemaName.TMC_ERROR]


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples, deadline=500, suppress_health_check=[HealthCheck.too_slow]
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


def _decodes_or_raises_typed(codec: RecordCodec[TMCError]) -> Callable[[bytes], None]:
    def check(data: bytes) -> None:
        started = time.monotonic()
        try:
            record: TMCError | DecodeError = codec.decode(data)
        except DecodeError as error:
            record = error
        event(type(record).__name__)  # --hypothesis-show-statistics shows the outcome mix
        if isinstance(record, DecodeError):
            assert record.reason
            assert record.hex_prefix == data[:32].hex()
        else:
            codec.encode(record)  # complete: every field is present and valid again
        assert time.monotonic() - started < 0.5

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
        check: Any = _decodes_or_raises_typed(codec)

        @fuzz(3000)
        @given(_mutations(seeds))
        def run(data: bytes) -> None:
            check(data)

        run()
