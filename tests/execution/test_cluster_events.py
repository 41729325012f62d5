"""The executor writing each recovery's start and ending as a core/v1 Event beside its cluster's
SyncTarget (execution.cluster_events), through the real adapter, on both servers: the fleet
simulator and a real kube-apiserver. Best effort: a control plane that refuses the Events
fails no recovery, and nothing is written unless asked for."""

import asyncio
import secrets
from pathlib import Path
from typing import Any

import pytest

from schemas.records import ErrorType, RecoveryResult, RecoveryState
from strategies.base import RecoveryFailed
from strategies.gateway import ObjectRef, Workspace
from strategies.simulator import FaultMode, FleetSimulator, SimulatedCluster
from streams.config import ExecutionSettings
from streams.events.shape import event_of
from streams.execution import RecoveryExecutor
from streams.execution.cluster_events import ClusterEvents
from tests.execution.conftest import FAST_RETRY
from tests.execution.support import Recorder, Scripted, recovery
from tests.strategies.backends import (
    CLUSTERS,
    LABELS,
    LOGICAL,
    Backend,
    SimulatorBackend,
    backend,
)

__all__ = ["backend"]

EAST = CLUSTERS[0]
HOST = "w1"


async def run(
    backend: Backend, record: RecoveryResult, *, on: bool = True
) -> tuple[Recorder, list[str]]:
    """Drive ``record`` to its end with Event writing ``on``; the records and the counts."""
    recorder, counted = Recorder(), list[str]()
    async with backend.gateway() as gateway:
        executor = RecoveryExecutor(
            {Scripted.name: Scripted(RecoveryFailed("still down"))},
            recorder,
            ExecutionSettings(cluster_events=on),
            FAST_RETRY,
            announce=ClusterEvents(gateway, HOST, counted.append),
        )
        try:
            await executor.submit(record)
            await recorder.ended(record.id)
            for _ in range(200):  # the Events are written off the recovery's path
                if len(counted) == 2 or not on:
                    break
                await asyncio.sleep(0.05)
        finally:
            await executor.close()
    return recorder, counted


async def stored(backend: Backend, record: RecoveryResult) -> dict[str, Any]:
    event = event_of(record, HOST)
    assert event is not None
    return await backend.read(
        Workspace(LOGICAL), ObjectRef("v1", "events", event.metadata.name, "default")
    )


def unique_recovery() -> RecoveryResult:
    """A recovery of EAST (the session's apiservers keep every Event: ids never repeat)."""
    return recovery(f"r-{secrets.token_hex(6)}", target=EAST, max_attempts=1)


async def test_a_recovery_writes_its_start_and_its_failure_beside_the_sync_target(
    backend: Backend,
) -> None:
    record = unique_recovery()
    recorder, counted = await run(backend, record)
    started = recorder.of(record.id)[0]
    escalated = recorder.of(record.id)[-1]
    assert (started.state, escalated.state) == (RecoveryState.IN_PROGRESS, RecoveryState.ESCALATED)
    assert counted == ["written", "written"]

    first, last = await stored(backend, started), await stored(backend, escalated)
    assert (first["reason"], first["type"]) == ("RecoveryStarted", "Normal")
    assert first["message"] == "Started Probe recovery for cluster unreachable error"
    assert (last["reason"], last["type"]) == ("RecoveryFailed", "Warning")
    assert last["message"].startswith("Probe recovery failed after 1 attempt")
    for event in (first, last):
        involved = event["involvedObject"]
        assert (involved["kind"], involved["name"]) == ("SyncTarget", EAST)
        assert event["source"] == {"component": "tmc-recovery", "host": HOST}
        assert event["metadata"]["annotations"]["tmc.kcp.io/recovery-id"] == record.id
    assert record.error.type is ErrorType.CLUSTER_UNREACHABLE


async def test_events_are_written_only_when_asked_for(backend: Backend) -> None:
    record = unique_recovery()
    recorder, counted = await run(backend, record, on=False)
    assert recorder.states(record.id)[-1] is RecoveryState.ESCALATED
    assert counted == []
    with pytest.raises(Exception, match=r"404|not found"):
        await stored(backend, recorder.of(record.id)[0])


async def test_a_control_plane_refusing_events_fails_no_recovery(tmp_path: Path) -> None:
    clusters = [SimulatedCluster(name, LOGICAL, labels=LABELS[name]) for name in CLUSTERS]
    async with FleetSimulator(clusters) as sim:
        await sim.admin.set_control_plane_fault(FaultMode.DOWN)
        recorder, counted = await run(SimulatorBackend(sim, tmp_path), unique_recovery())
    assert [r.state for r in recorder.records][-1] is RecoveryState.ESCALATED
    assert recorder.records[-1].transitions[-1].reason is not None
    assert "still down" in recorder.records[-1].transitions[-1].reason, "its own failure"
    assert counted == ["failed", "failed"]
