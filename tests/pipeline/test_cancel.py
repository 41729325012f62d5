"""A cancel command reaches the worker that owns the recovery and stops its running attempt."""

import pytest

from schemas.records import RecoveryState
from strategies.simulator import FleetSimulator
from strategies.simulator.faults import FaultMode
from streams.execution.agent import cancel_headers
from streams.testing.harness import PipelineEnv, emit, produce, unreachable, wait_for_table

pytestmark = pytest.mark.kafka
S = RecoveryState


async def test_cancel_stops_a_running_recovery(
    env: PipelineEnv, fleet: FleetSimulator, start_worker
) -> None:
    await fleet.admin.set_fault("edge-2", FaultMode.HANG)
    worker = await start_worker(
        "w1", strategies={"ClusterConnectivity": {"timeout_s": 120}}
    ).ready()
    error = unreachable("edge-2")
    await emit(env.bootstrap, env.topics["errors"], [error])
    rows = await wait_for_table(
        env, lambda rows: any(r.state is S.IN_PROGRESS for r in rows.values()), workers=(worker,)
    )
    (running,) = rows.values()

    topic = f"{env.topics['requests_prefix']}{running.strategy}"
    command = cancel_headers(running.id, "operator: maintenance window")
    await produce(env.bootstrap, topic, [(error.kafka_key(), b"")], headers=command)

    rows = await wait_for_table(
        env, lambda rows: rows[running.id].state.is_terminal, within_s=30, workers=(worker,)
    )
    cancelled = rows[running.id]
    assert cancelled.state is S.CANCELLED
    assert cancelled.transitions[-1].reason == "operator: maintenance window"
    assert [t.state for t in cancelled.transitions] == [S.PENDING, S.IN_PROGRESS, S.CANCELLED]
