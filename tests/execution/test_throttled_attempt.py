"""A strategy facing 429s, driven by the executor through the real adapter and the simulator:
it slows down as Retry-After says and its attempt completes, never failed for the throttling.
Spacing is asserted as a lower bound only, from the simulator's request log."""

import asyncio
import itertools
from typing import Any

from schemas.records import RecoveryResult, RecoveryState
from strategies.adapters.http_gateway import HttpClusterGateway
from strategies.builtin import ClusterConnectivityRecovery
from strategies.simulator import FaultMode, FleetSimulator
from tests.execution.conftest import MakeExecutor
from tests.execution.support import Recorder, recovery

SLACK_S = 0.05


async def ended(recorder: Recorder, recovery_id: str, within_s: float = 60) -> RecoveryResult:
    for _ in range(int(within_s / 0.05)):
        done = [r for r in recorder.of(recovery_id) if r.state.is_terminal]
        if done:
            return done[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{recovery_id} never ended: {recorder.states(recovery_id)}")


def gaps(log: list[dict[str, Any]]) -> list[float]:
    return [b["time"] - a["time"] for a, b in itertools.pairwise(log)]


async def test_a_strategy_facing_429s_slows_down_and_completes(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    async with FleetSimulator(["east"]) as sim, HttpClusterGateway(sim.fleet) as gateway:
        await sim.admin.set_fault("east", FaultMode.THROTTLE, for_requests=2, delay_s=1)
        await sim.admin.set_control_plane_fault(FaultMode.THROTTLE, for_requests=1, delay_s=1)
        strategy = ClusterConnectivityRecovery(gateway)
        executor = make_executor(strategy)
        await executor.submit(recovery("r1", target="east", strategy=strategy.name))
        done = await ended(recorder, "r1")
        cluster = await sim.admin.cluster("east")
        plane = await sim.admin.control_plane()

    assert recorder.states("r1") == [RecoveryState.IN_PROGRESS, RecoveryState.COMPLETED]
    assert done.result is not None
    assert done.result.success
    assert done.result.metrics["connection_refreshes"] == 0, "throttled is not unready"
    probes = cluster["requests"]
    assert [r["status"] for r in probes] == [429, 429, 200]
    assert all(gap >= 1.0 - SLACK_S for gap in gaps(probes)), "spaced per Retry-After"
    writes = plane["requests"]
    assert [r["status"] for r in writes][:2] == [429, 200]
    assert gaps(writes)[0] >= 1.0 - SLACK_S
    assert cluster["health_updates"][-1]["status"] == "True", "and it recorded Ready"
