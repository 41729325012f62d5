"""Poison records: every garbage record is dead-lettered with its reason, every valid one heals."""

import os

import pytest

from schemas.codec import RecordCodec
from schemas.records import HealthReport, RecoveryState
from streams.ingest.admission import DLQ_REASON, DLQ_SOURCE
from streams.testing.harness import (
    ERRORS,
    PipelineEnv,
    produce,
    read_topic,
    unreachable,
    wait_for_table,
)
from tests.schemas.examples import all_records

pytestmark = pytest.mark.kafka


def _health_report() -> bytes:
    """A valid Avro record of another schema family: decodable, but not a TMCError."""
    report = next(r for r in all_records() if isinstance(r, HealthReport))
    return RecordCodec(HealthReport).encode(report)


async def test_garbage_is_dead_lettered_and_valid_errors_are_processed(
    env: PipelineEnv, start_worker
) -> None:
    valid = [unreachable(f"edge-{i}") for i in range(1, 5)]
    encoded = ERRORS.encode(valid[0])
    garbage = {
        b"random": os.urandom(300),
        b"truncated": encoded[: len(encoded) // 2],
        b"unknown-fingerprint": b"\xc3\x01" + bytes(8) + encoded[10:],
        b"wrong-family": _health_report(),
        b"trailing": encoded + b"\x00\x01",
        b"oversized": b"\xc3\x01" + os.urandom(300 * 1024),
        b"json": b'{"type": "ClusterUnreachable", "cluster": "edge-1"}',
    }
    records: list[tuple[bytes | None, bytes]] = []
    for i, error in enumerate(valid):  # interleave: the worker must keep going
        records.append((error.kafka_key(), ERRORS.encode(error)))
        records += list(garbage.items())[i * 2 : i * 2 + 2]
    records += list(garbage.items())[8:]
    worker = await start_worker("w1").ready()
    await produce(env.bootstrap, env.topics["errors"], records)

    rows = await wait_for_table(
        env,
        lambda rows: len(rows) == len(valid) and all(r.state.is_terminal for r in rows.values()),
        workers=(worker,),
    )
    assert {r.error.event_id for r in rows.values()} == {e.event_id for e in valid}
    assert {r.state for r in rows.values()} == {RecoveryState.COMPLETED}

    dead = await read_topic(env.bootstrap, env.topics["dlq"], env.partitions)
    by_key = {key: (value, dict(headers)) for key, value, headers in dead}
    assert set(by_key) == set(garbage), worker.tail()
    for key, original in garbage.items():
        value, headers = by_key[key]
        assert value == original, f"{key!r}: the DLQ keeps the original bytes"
        assert headers[DLQ_REASON], f"{key!r}: no reason"
        assert headers[DLQ_SOURCE].startswith(env.topics["errors"].encode() + b":")
    reasons = {key: by_key[key][1][DLQ_REASON].decode() for key in garbage}
    assert reasons[b"unknown-fingerprint"] == "unknown-fingerprint"
    assert reasons[b"oversized"] == "oversized"
    assert reasons[b"trailing"] == "trailing-bytes"
    assert reasons[b"wrong-family"] == "unusable-writer-schema"
    assert reasons[b"json"] == "bad-magic"
    assert worker.proc is not None
    assert worker.proc.poll() is None, "the worker keeps running"
