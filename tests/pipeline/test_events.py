"""The events topic on a real worker: a recovery that completes is RecoveryStarted then
RecoveryCompleted on its cluster's SyncTarget; a burst of twelve doomed conflict recoveries on
one cluster is one RecoveryStarted Event counted to 12, and its twelve distinct failures are
nine RecoveryFailed Events and one combined Event counted to 3 (client-go's correlator)."""

import asyncio
import dataclasses
import uuid

import pytest

from schemas.codec import RecordCodec
from schemas.records import ErrorType, EventType, RecoveryEvent
from strategies.gateway import ObjectRef
from streams.testing.harness import PipelineEnv, emit, read_topic, unreachable, wait_for_table
from tests.strategies.scenario import error

pytestmark = pytest.mark.kafka
EVENTS = RecordCodec(RecoveryEvent)
BURST = 12


def ghost(n: int) -> ObjectRef:
    return ObjectRef("apps/v1", "deployments", f"ghost-{n}", "default")


async def test_events_are_kubernetes_events_and_a_burst_is_aggregated(
    env: PipelineEnv, start_worker
) -> None:
    burst = [
        error(ErrorType.RESOURCE_CONFLICT, "edge-2", ref=ghost(n), desired={"spec": {}})
        for n in range(BURST)
    ]
    errors = [unreachable("edge-1"), *burst]
    worker = await start_worker("w1").ready()
    await emit(
        env.bootstrap,
        env.topics["errors"],
        [dataclasses.replace(e, event_id=str(uuid.uuid4())) for e in errors],
    )
    await wait_for_table(
        env,
        lambda rows: len(rows) == 1 + BURST and all(r.state.is_terminal for r in rows.values()),
        workers=(worker,),
    )

    async def events() -> list[RecoveryEvent]:
        records = await read_topic(env.bootstrap, env.topics["events"], env.partitions)
        return [EVENTS.decode(value) for _, value, _ in records if value]

    written = await events()
    for _ in range(60):  # the events agent may trail the status table
        if len(written) >= 2 + 2 * BURST:
            break
        await asyncio.sleep(0.5)
        written = await events()
    latest = {e.metadata.name: e for e in written}  # what a reader keeps: the last per name
    edge1 = [e for e in latest.values() if e.involved_object.name == "edge-1"]
    assert sorted((e.reason, e.type, e.message, e.count) for e in edge1) == [
        ("RecoveryCompleted", EventType.NORMAL,
         "Completed ClusterConnectivity recovery for cluster unreachable error", 1),
        ("RecoveryStarted", EventType.NORMAL,
         "Started ClusterConnectivity recovery for cluster unreachable error", 1),
    ]  # fmt: skip
    assert all(e.involved_object.kind == "SyncTarget" for e in edge1)

    edge2 = [e for e in latest.values() if e.involved_object.name == "edge-2"]
    [started] = [e for e in edge2 if e.reason == "RecoveryStarted"]
    assert (started.count, started.message) == (
        BURST,
        "Started ResourceConflict recovery for resource conflict error",
    )
    failed = [e for e in edge2 if e.reason == "RecoveryFailed"]
    assert all(e.type is EventType.WARNING for e in failed)
    alone = [e for e in failed if e.count == 1 and "combined" not in e.message]
    [combined] = [e for e in failed if e.message.startswith("(combined from similar events): ")]
    assert (len(alone), combined.count) == (9, 3), [(e.message, e.count) for e in failed]
    assert alone[0].message.startswith(
        "ResourceConflict recovery failed after 1 attempt (not retryable): "
    )
    assert combined.last_timestamp >= combined.first_timestamp
