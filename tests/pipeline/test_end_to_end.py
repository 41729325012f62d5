"""An emitted error becomes a recovery that really acts on the cluster and completes."""

import json

import pytest

from schemas.records import ErrorType, RecoveryState
from strategies.simulator import FleetSimulator
from streams.clients.subscriber import ResultSubscriber
from streams.partitioning import partition_for
from streams.testing.harness import (
    RESULTS,
    PipelineEnv,
    emit,
    read_records,
    read_topic,
    unreachable,
    wait_for_table,
)

pytestmark = pytest.mark.kafka
S = RecoveryState


async def test_error_to_completed_recovery(
    env: PipelineEnv, fleet: FleetSimulator, start_worker
) -> None:
    worker = await start_worker("w1").ready()
    error = unreachable("edge-1")
    async with ResultSubscriber(env.bootstrap, topic=env.topics["results"]) as results:
        await emit(env.bootstrap, env.topics["errors"], [error])
        seen = []
        async for result in results:
            seen.append(result.state)
            if result.state.is_terminal:
                break
    assert seen == [S.PENDING, S.IN_PROGRESS, S.COMPLETED], worker.tail()

    rows = await wait_for_table(env, lambda rows: any(r.state.is_terminal for r in rows.values()))
    (row,) = rows.values()
    assert row.state is S.COMPLETED
    assert row.error.event_id == error.event_id
    assert [t.state for t in row.transitions] == [S.PENDING, S.IN_PROGRESS, S.COMPLETED]
    assert row.result is not None
    assert row.result.success
    assert any("probe" in action for action in row.result.actions)

    cluster = await fleet.admin.cluster("edge-1")
    assert cluster["health_updates"], "the strategy recorded Ready on the control plane"

    # A plain Kafka client finds the row by its UTF-8 key, on its cluster's partition.
    changelog = await read_records(env.bootstrap, env.topics["status"], env.partitions)
    keys = {(r.key, r.partition) for r in changelog}
    assert keys == {(f"edge-1~{row.id}".encode(), partition_for(b"edge-1", env.partitions))}


async def test_an_error_nothing_may_act_on_escalates_at_admission_and_merges_after(
    env: PipelineEnv, start_worker
) -> None:
    ready_file = env.workdir / "w1.ready"
    worker = await start_worker("w1", ready_file=str(ready_file)).ready()
    assert "caught up" in json.loads(ready_file.read_text())["detail"], "the probe's file"
    missing = [unreachable("edge-2", ErrorType.RESOURCE_NOT_FOUND) for _ in range(3)]
    await emit(env.bootstrap, env.topics["errors"], missing)

    rows = await wait_for_table(
        env, lambda rows: any(r.merged_count == 2 for r in rows.values()), workers=(worker,)
    )
    (row,) = rows.values()
    assert row.state is S.ESCALATED
    assert [t.state for t in row.transitions] == [S.ESCALATED]
    assert row.transitions[-1].reason == "no strategy: ResourceNotFound (not retryable)"
    assert row.error.event_id == missing[0].event_id
    assert set(row.merged_error_ids) == {e.event_id for e in missing[1:]}
    published = [RESULTS.decode(v) for _, v, _ in await read_results(env, "results") if v]
    assert [(r.id, r.state) for r in published] == [(row.id, S.ESCALATED)], "one record, final"
    escalations = [RESULTS.decode(v) for _, v, _ in await read_results(env, "escalations") if v]
    assert [(r.id, r.state) for r in escalations] == [(row.id, S.ESCALATED)]
    assert worker.stop() == 0
    assert not ready_file.exists(), "a stopped worker is not ready"


async def read_results(
    env: PipelineEnv, topic: str
) -> list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]]:
    return await read_topic(env.bootstrap, env.topics[topic], env.partitions)
