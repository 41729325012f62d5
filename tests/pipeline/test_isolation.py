"""A recovery that hangs on one cluster until its timeout does not delay other clusters."""

import pytest

from schemas.records import RecoveryState
from strategies.simulator import FleetSimulator
from strategies.simulator.faults import FaultMode
from streams.testing.harness import PipelineEnv, emit, unreachable, wait_for_table

pytestmark = pytest.mark.kafka
S = RecoveryState
TIMEOUT_S = 4


async def test_slow_cluster_times_out_without_delaying_others(
    env: PipelineEnv, fleet: FleetSimulator, start_worker
) -> None:
    await fleet.admin.set_fault("edge-1", FaultMode.HANG)
    worker = await start_worker(
        "w1",
        strategies={"ClusterConnectivity": {"timeout_s": TIMEOUT_S, "max_attempts": 1}},
    ).ready()
    await emit(env.bootstrap, env.topics["errors"], [unreachable("edge-1")])
    await wait_for_table(
        env, lambda rows: any(r.state is S.IN_PROGRESS for r in rows.values()), workers=(worker,)
    )
    others = [unreachable(f"edge-{i}") for i in range(2, 6)]
    await emit(env.bootstrap, env.topics["errors"], others)

    rows = await wait_for_table(
        env,
        lambda rows: len(rows) == 5 and all(r.state.is_terminal for r in rows.values()),
        within_s=60,
        workers=(worker,),
    )
    by_cluster = {r.target: r for r in rows.values()}
    slow = by_cluster["edge-1"]
    assert [t.state for t in slow.transitions] == [S.PENDING, S.IN_PROGRESS, S.TIMEOUT, S.ESCALATED]
    slow_started = slow.transitions[1].at
    slow_timed_out = slow.transitions[2].at
    assert (slow_timed_out - slow_started).total_seconds() >= TIMEOUT_S - 0.1
    for name in ("edge-2", "edge-3", "edge-4", "edge-5"):
        row = by_cluster[name]
        assert row.state is S.COMPLETED, name
        assert row.end_time is not None
        assert row.end_time < slow_timed_out, f"{name} waited for the hung cluster"
