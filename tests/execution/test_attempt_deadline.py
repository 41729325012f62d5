"""An attempt on a hung API server ends Timeout at its deadline, even when the machine is so
busy that the attempt's timer and the request's own timer come due in the same turn of the
event loop (test_isolation's hung cluster came out Failed under load: aiohttp's request timer
took the attempt's cancellation back, and the strategy probed on past its deadline)."""

import asyncio
import time
from datetime import timedelta

import pytest

from schemas.records import RecoveryState
from strategies.adapters.http_gateway import HttpClusterGateway
from strategies.builtin import ClusterConnectivityRecovery
from strategies.simulator import FaultMode, FleetSimulator
from streams.execution.attempt import run_attempt
from streams.execution.lifecycle import AttemptFailure
from tests.execution.support import recovery

#: Twice the adapter's request timeout (2 s): the second probe's timer is due with the attempt's.
LIMIT_S = 4.0


@pytest.mark.parametrize("busy_s", [0.0, 0.6], ids=["idle loop", "loop late past the deadline"])
async def test_a_hung_cluster_times_the_attempt_out(busy_s: float) -> None:
    async with FleetSimulator(["edge-1"]) as sim, HttpClusterGateway(sim.fleet) as gateway:
        await sim.admin.set_fault("edge-1", FaultMode.HANG)
        strategy = ClusterConnectivityRecovery(gateway)

        async def busy() -> None:
            await asyncio.sleep(LIMIT_S - 0.3)
            time.sleep(busy_s)  # noqa: ASYNC251 -- a busy loop: both timers overdue when it wakes

        hog = asyncio.create_task(busy())
        target = recovery("r1", target="edge-1", strategy=strategy.name)
        ended = await run_attempt(strategy, target, timedelta(seconds=LIMIT_S), dry_run=False)
        await hog

    assert isinstance(ended, AttemptFailure)
    assert (ended.state, ended.message) == (RecoveryState.TIMEOUT, "timed out after 4s")
