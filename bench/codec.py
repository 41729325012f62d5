"""Codec throughput next to raw fastavro, on the same records in the same run.

Run from the repository root: ``.venv/bin/python -m bench.codec [--records N] [--rounds R]``.
Confluent framing talks to the loopback registry stand-in from the tests; after the first
lookup every schema id comes from the codec's cache, as in production.

Each case is timed in batches of ``--batch`` records, ours and raw fastavro alternately, and the
best batch of each counts (as timeit does): on a shared machine whole passes swing by 10%, while
the best of many short batches is steady. Besides the latest writer, two decode paths:
an old writer version (TMCError v1, checked strictly, then resolved to v2; raw fastavro only
resolves), and arrays and maps written with negative block counts and byte sizes, as hamba/avro
writes them (the codec checks those sizes; fastavro never reads them).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable, Sequence
from io import BytesIO
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from bench import report
from bench.report import Figure
from schemas.catalog import SchemaName, catalog
from schemas.codec import Framing, RecordCodec, SchemaRegistryClient
from schemas.records import ErrorType, GroupVersionKind, TMCError, to_avro
from streams.testing.registry_stub import RegistryStub


def make_errors(count: int) -> list[TMCError]:
    """Varied, realistic errors (~300 bytes encoded)."""
    types = list(ErrorType)
    errors = []
    for i in range(count):
        error = (
            TMCError.build(types[i % len(types)], "syncer", "reconcile")
            .with_message(f"failed to sync Deployment shop/web-{i}: connection reset by peer")
            .with_cluster(f"edge-{i % 50}", "root:org:edge")
            .with_resource(GroupVersionKind("v1", "Deployment", "apps"), "shop", f"web-{i}")
            .with_context("attempt", i % 5)
            .with_context("endpoint", f"https://edge-{i % 50}.example:6443")
            .with_cause(ConnectionResetError("connection reset by peer"))
            .build()
        )
        errors.append(dataclasses.replace(error, event_id=f"{i:08d}-0000-4000-8000-000000000000"))
    return errors


Run = Callable[[int, int], object]  # does the work for records [lo, hi)


def timed(run: Run, lo: int, hi: int) -> float:
    started = time.perf_counter()
    run(lo, hi)
    return time.perf_counter() - started


def compare(ours: Run, raw: Run, records: int, batch: int, rounds: int) -> tuple[float, float]:
    """Best seconds per record of each, batch by batch, alternately (same host load)."""
    best_ours = best_raw = float("inf")
    for _ in range(rounds):
        for lo in range(0, records - batch + 1, batch):
            best_raw = min(best_raw, timed(raw, lo, lo + batch) / batch)
            best_ours = min(best_ours, timed(ours, lo, lo + batch) / batch)
    return best_ours, best_raw


def raw_encode(schema: Any, datums: Sequence[dict[str, Any]]) -> list[bytes]:
    out = []
    for datum in datums:
        buf = BytesIO()
        schemaless_writer(buf, schema, datum)
        out.append(buf.getvalue())
    return out


def raw_decode(schema: Any, bodies: Sequence[bytes], reader: Any = None) -> list[Any]:
    return [schemaless_reader(BytesIO(body), schema, reader) for body in bodies]


def _zigzag(n: int) -> bytes:
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes([*out, n])


def with_block_sizes(schema: Any, datum: dict[str, Any]) -> bytes:
    """The body with each top-level array and map as one block of -count and byte size."""
    out = bytearray()
    for field in schema["fields"]:
        part = BytesIO()
        schemaless_writer(part, {**schema, "fields": [field]}, datum)
        value = part.getvalue()
        kind = field["type"]["type"] if isinstance(field["type"], dict) else None
        if kind in ("array", "map") and value != b"\x00":
            count = len(datum[field["name"]])
            items = value[len(_zigzag(count)) : -1]
            value = _zigzag(-count) + _zigzag(len(items)) + items + b"\x00"
        out += value
    return bytes(out)


def cases(
    codec: RecordCodec[TMCError], errors: list[TMCError], datums: list[dict[str, Any]], schema: Any
) -> dict[str, tuple[Run, Run]]:
    """What to time for one codec: (ours, raw fastavro doing the same work)."""
    framed = [codec.avro.encode(d) for d in datums]
    bodies = raw_encode(schema, datums)
    return {
        "encode": (
            lambda lo, hi: [codec.avro.encode(d) for d in datums[lo:hi]],
            lambda lo, hi: raw_encode(schema, datums[lo:hi]),
        ),
        "decode": (
            lambda lo, hi: [codec.avro.decode(x) for x in framed[lo:hi]],
            lambda lo, hi: raw_decode(schema, bodies[lo:hi]),
        ),
        "encode typed record": (
            lambda lo, hi: [codec.encode(e) for e in errors[lo:hi]],
            lambda lo, hi: raw_encode(schema, datums[lo:hi]),
        ),
        "decode typed record": (
            lambda lo, hi: [codec.decode(x) for x in framed[lo:hi]],
            lambda lo, hi: raw_decode(schema, bodies[lo:hi]),
        ),
    }


def other_writers(codec: RecordCodec[TMCError], datums: list[dict[str, Any]]) -> dict[str, Any]:
    """Decode cases for writers other than the latest (single-object framing)."""
    v1 = catalog().families[SchemaName.TMC_ERROR].versions[0]
    latest = codec.avro.schema
    old = [{k: v for k, v in d.items() if k != "trace_id"} for d in datums]
    v1_bodies = raw_encode(v1.parsed, old)
    v1_framed = [b"\xc3\x01" + v1.fingerprint + b for b in v1_bodies]
    sized = [with_block_sizes(latest.parsed, d) for d in datums]
    sized_framed = [b"\xc3\x01" + latest.fingerprint + b for b in sized]
    assert codec.avro.decode(sized_framed[0]) == codec.avro.decode(codec.avro.encode(datums[0]))
    return {
        "decode old version v1": (
            lambda lo, hi: [codec.avro.decode(x) for x in v1_framed[lo:hi]],
            lambda lo, hi: raw_decode(v1.parsed, v1_bodies[lo:hi], latest.parsed),
        ),
        "decode with block sizes": (
            lambda lo, hi: [codec.avro.decode(x) for x in sized_framed[lo:hi]],
            lambda lo, hi: raw_decode(latest.parsed, sized[lo:hi]),
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=200, help="records per timed batch")
    args = parser.parse_args()

    errors = make_errors(args.records)
    datums = [to_avro(e) for e in errors]
    single = RecordCodec(TMCError)
    schema = single.avro.schema.parsed
    size = sum(map(len, raw_encode(schema, datums))) / len(datums)

    with RegistryStub.running() as registry:
        client = SchemaRegistryClient(registry.url)
        confluent = RecordCodec(TMCError, framing=Framing.CONFLUENT, registry=client)
        print(
            f"{args.records} TMCError records, {size:.0f}-byte bodies, best batch of "
            f"{args.batch} over {args.rounds} rounds"
        )
        print(f"{'records/s':>52}{'raw fastavro':>14}{'ratio':>8}")
        figures = []
        for name, codec in {"single-object": single, "confluent": confluent}.items():
            timings = cases(codec, errors, datums, schema)
            if codec is single:
                timings.update(other_writers(codec, datums))
            for label, (ours, raw) in timings.items():
                ours_s, raw_s = compare(ours, raw, args.records, args.batch, args.rounds)
                line = f"{label} ({name})"
                print(f"{line:40}{1 / ours_s:>12,.0f}{1 / raw_s:>14,.0f}{raw_s / ours_s:>7.2f}x")
                figures.append(Figure(line, 1 / ours_s, 1 / raw_s, "records/s"))
        print(f"registry requests in the whole run: {len(registry.requests)}")
    print(f"written to {report.write('codec', figures)}")


if __name__ == "__main__":
    main()
