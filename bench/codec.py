"""Codec throughput next to raw fastavro, on the same records in the same run.

Run from the repository root: ``.venv/bin/python -m bench.codec [--records N] [--rounds R]``.
Confluent framing talks to the loopback registry stand-in from the tests; after the first
lookup every schema id comes from the codec's cache, as in production.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable, Sequence
from io import BytesIO
from typing import Any

from fastavro import schemaless_reader, schemaless_writer

from schemas.codec import Framing, RecordCodec, SchemaRegistryClient
from schemas.records import ErrorType, GroupVersionKind, TMCError, to_avro
from tests.schemas.registry_stub import RegistryStub


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


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def compare(
    ours: Callable[[], object], raw: Callable[[], object], rounds: int
) -> tuple[float, float]:
    """Best seconds of each, timed alternately so both see the same host load."""
    best_ours = best_raw = float("inf")
    for _ in range(rounds):
        best_raw = min(best_raw, timed(raw))
        best_ours = min(best_ours, timed(ours))
    return best_ours, best_raw


def raw_encode(schema: Any, datums: Sequence[dict[str, Any]]) -> list[bytes]:
    out = []
    for datum in datums:
        buf = BytesIO()
        schemaless_writer(buf, schema, datum)
        out.append(buf.getvalue())
    return out


def raw_decode(schema: Any, bodies: Sequence[bytes]) -> list[Any]:
    return [schemaless_reader(BytesIO(body), schema, None) for body in bodies]


Run = Callable[[], object]


def cases(
    codec: RecordCodec[TMCError], errors: list[TMCError], datums: list[dict[str, Any]], schema: Any
) -> dict[str, tuple[Run, Run]]:
    """What to time for one codec: (ours, raw fastavro doing the same work)."""
    framed = [codec.avro.encode(d) for d in datums]
    bodies = raw_encode(schema, datums)
    return {
        "encode": (
            lambda: [codec.avro.encode(d) for d in datums],
            lambda: raw_encode(schema, datums),
        ),
        "decode": (
            lambda: [codec.avro.decode(x) for x in framed],
            lambda: raw_decode(schema, bodies),
        ),
        "encode typed record": (
            lambda: [codec.encode(e) for e in errors],
            lambda: raw_encode(schema, datums),
        ),
        "decode typed record": (
            lambda: [codec.decode(x) for x in framed],
            lambda: raw_decode(schema, bodies),
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    errors = make_errors(args.records)
    datums = [to_avro(e) for e in errors]
    single = RecordCodec(TMCError)
    schema = single.avro.schema.parsed
    size = sum(map(len, raw_encode(schema, datums))) / len(datums)

    with RegistryStub.running() as registry:
        client = SchemaRegistryClient(registry.url)
        confluent = RecordCodec(TMCError, framing=Framing.CONFLUENT, registry=client)
        print(f"{args.records} TMCError records, {size:.0f}-byte bodies, best of {args.rounds}")
        print(f"{'records/s':>48}{'raw fastavro':>14}{'ratio':>8}")
        for name, codec in {"single-object": single, "confluent": confluent}.items():
            for label, (ours, raw) in cases(codec, errors, datums, schema).items():
                ours_s, raw_s = compare(ours, raw, args.rounds)
                n = args.records
                line = f"{label} ({name})"
                print(f"{line:36}{n / ours_s:>12,.0f}{n / raw_s:>14,.0f}{raw_s / ours_s:>7.2f}x")
        print(f"registry requests in the whole run: {len(registry.requests)}")


if __name__ == "__main__":
    main()
