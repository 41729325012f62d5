"""An emitted error becomes a recovery that really acts on the cluster and completes."""

import time

import pytest

from schemas.records import RecoveryState
from strategies.simulator import FleetSimulator
from streams.clients.subscriber import ResultSubscriber
from tests.pipeline.harness import PipelineEnv, emit, unreachable, wait_for_table

pytestmark = pytest.mark.kafka
S = RecoveryState


async def test_error_to_completed_recovery(
    env: PipelineEnv, fleet: FleetSimulator, start_worker
) -> None:
    worker = await start_worker("w1").ready()
    error = unreachable("edge-1")
    async with ResultSubscriber(env.bootstrap, topic=env.topics["results"]) as results:
        started = time.monotonic()
        await emit(env.bootstrap, env.topics["errors"], [error])
        seen = []
        async for result in results:
            seen.append(result.state)
            if result.state.is_terminal:
                break
    elapsed = time.monotonic() - started
    assert seen == [S.PENDING, S.IN_PROGRESS, S.COMPLETED], worker.tail()
    assert elapsed < 10, f"took {elapsed:.1f}s"

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
