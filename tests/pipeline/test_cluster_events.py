"""execution.cluster_events on a real worker: a recovery's start and ending appear as Events
beside the cluster's SyncTarget on the (simulated) control plane, the same Events the events
topic carries, and are counted on /metrics."""

import asyncio
import dataclasses

import aiohttp
import pytest

from schemas.records import RecoveryResult, RecoveryState
from strategies.gateway import ObjectRef, Workspace
from strategies.simulator import FleetSimulator, SimulatorAdminError
from streams.events.shape import event_of
from streams.testing.harness import PipelineEnv, emit, unreachable, wait_for_table
from tests.api.conftest import http

__all__ = ["http"]
pytestmark = pytest.mark.kafka
TMC = Workspace("root:tmc")


async def event_for(fleet: FleetSimulator, record: RecoveryResult) -> dict[str, object]:
    """The Event ``record`` stands for, once the worker has written it (off the recovery's path)."""
    event = event_of(record, "w1")
    assert event is not None
    ref = ObjectRef("v1", "events", event.metadata.name, "default")
    for _ in range(100):
        try:
            return await fleet.admin.get_object(TMC, ref)
        except SimulatorAdminError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"no Event {event.metadata.name} on the control plane")


async def test_a_worker_writes_recovery_events_beside_the_sync_target(
    env: PipelineEnv, fleet: FleetSimulator, start_worker, http: aiohttp.ClientSession
) -> None:
    worker = start_worker("w1", execution={"cluster_events": True})
    url = await worker.api_url()
    await worker.ready()
    await emit(env.bootstrap, env.topics["errors"], [unreachable("edge-1")])
    rows = await wait_for_table(
        env, lambda rows: any(r.state.is_terminal for r in rows.values()), workers=(worker,)
    )
    (row,) = rows.values()
    assert row.state is RecoveryState.COMPLETED
    first = next(i for i, t in enumerate(row.transitions) if t.state is RecoveryState.IN_PROGRESS)
    context = dataclasses.replace(row.context, attempt=1)
    at_start = dataclasses.replace(
        row,
        state=RecoveryState.IN_PROGRESS,
        context=context,
        transitions=row.transitions[: first + 1],
    )

    begun = await event_for(fleet, at_start)
    assert (begun["reason"], begun["type"]) == ("RecoveryStarted", "Normal")
    assert begun["message"] == "Started ClusterConnectivity recovery for cluster unreachable error"
    completed = await event_for(fleet, row)
    assert (completed["reason"], completed["type"]) == ("RecoveryCompleted", "Normal")
    assert completed["involvedObject"] == {
        "kind": "SyncTarget", "name": "edge-1", "apiVersion": "tmc.kcp.io/v1alpha1",
    }  # fmt: skip
    assert (
        completed["message"]
        == "Completed ClusterConnectivity recovery for cluster unreachable error"
    )

    written = 'tmc_cluster_events_total{outcome="written"} 2.0'
    for _ in range(50):  # counted just after each write returns
        async with http.get(f"{url}/metrics") as reply:
            if written in await reply.text():
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"/metrics never said {written}")
