"""Spec-invalid Avro through a real worker: every record lands in the DLQ with its reason, and
no recovery starts (fastavro alone reads most of these as valid, wrong errors)."""

import asyncio
import time

import pytest
from hypothesis import HealthCheck, given, settings

from schemas.codec import DecodeError
from schemas.records import RecoveryState
from streams.ingest.admission import DLQ_REASON
from streams.testing.harness import (
    ERRORS,
    RESULTS,
    PipelineEnv,
    produce,
    read_topic,
    unreachable,
    wait_for_table,
)
from tests.schemas.test_fuzz import spec_violations
from tests.schemas.test_spec_violations import CORPUS

pytestmark = pytest.mark.kafka
GENERATED = 200


def generated_violations() -> list[tuple[bytes, type[DecodeError]]]:
    """Hypothesis draws the violations (every kind, random fields and values)."""
    drawn: list[tuple[bytes, type[DecodeError]]] = []

    @settings(max_examples=GENERATED, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(spec_violations())
    def collect(violation: tuple[bytes, type[DecodeError]]) -> None:
        drawn.append(violation)

    collect()
    return drawn


async def test_spec_invalid_records_are_dead_lettered_and_start_nothing(
    env: PipelineEnv, start_worker
) -> None:
    poison = [(data, kind) for _, data, kind in CORPUS] + generated_violations()
    records: list[tuple[bytes | None, bytes]] = [
        (f"poison-{i}".encode(), data) for i, (data, _) in enumerate(poison)
    ]
    sentinel = unreachable("edge-3")  # a valid error after them: the worker kept going
    worker = await start_worker("w1").ready()
    await produce(env.bootstrap, env.topics["errors"], records)
    await produce(env.bootstrap, env.topics["errors"], [(b"edge-3", ERRORS.encode(sentinel))])

    await wait_for_table(
        env,
        lambda rows: any(r.state is RecoveryState.COMPLETED for r in rows.values()),
        workers=(worker,),
    )
    reasons: dict[bytes | None, str] = {}
    deadline = time.monotonic() + 60
    while len(reasons) < len(poison) and time.monotonic() < deadline:
        dead = await read_topic(env.bootstrap, env.topics["dlq"], env.partitions)
        reasons = {key: dict(headers)[DLQ_REASON].decode() for key, _, headers in dead}
        await asyncio.sleep(0.5)
    for i, (_, kind) in enumerate(poison):
        assert reasons.get(f"poison-{i}".encode()) == kind.reason, f"poison-{i}: {kind.__name__}"
    published = await read_topic(env.bootstrap, env.topics["results"], env.partitions)
    started = {RESULTS.decode(value).error.event_id for _, value, _ in published if value}
    assert started == {sentinel.event_id}, "no recovery from a spec-invalid record"
