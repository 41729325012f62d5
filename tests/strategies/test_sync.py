"""Sync through the HTTP adapter against the simulator: a stuck syncer is re-synced and
verified; a wedged one fails for good; an unreachable cluster is retried."""

import pytest

from schemas.records import ErrorType
from strategies.adapters.http_gateway import HttpClusterGateway
from strategies.base import RecoveryFailed
from strategies.builtin import SyncRecovery
from strategies.builtin.polling import Checks
from strategies.simulator import FaultMode, FleetSimulator, Syncer
from tests.strategies.kube_objects import WEB, deployment
from tests.strategies.scenario import DRY_RUN, RUN, attempt, error

STALLED = error(ErrorType.SYNC_TIMEOUT, ref=WEB, operation="sync")


@pytest.fixture
def syncing(gateway: HttpClusterGateway) -> SyncRecovery:
    return SyncRecovery(gateway, checks=Checks(3, 0.01))


async def test_a_stuck_syncer_is_resynced_and_verified(
    sim: FleetSimulator, gateway: HttpClusterGateway, syncing: SyncRecovery
) -> None:
    await sim.admin.put_object("east", deployment())
    await sim.admin.set_syncer("east", Syncer.STUCK)

    outcome = await syncing.execute(RUN, STALLED, attempt())

    status = await gateway.sync_status("east")
    assert (status.synced, status.observed_resync) == (True, "rec-1")
    assert outcome.message == "cluster east re-synced: all resources are in sync"
    assert "requested a re-sync of cluster east (rec-1)" in outcome.actions
    assert any(a.startswith("deployments.apps shop/web on cluster east") for a in outcome.actions)
    assert (await sim.admin.cluster("east"))["health_updates"][-1]["reason"] == "SyncRecovered"
    assert outcome.metrics == {"sync_checks": 1}


async def test_a_wedged_syncer_fails_for_good_with_a_restart_step(
    sim: FleetSimulator, syncing: SyncRecovery
) -> None:
    await sim.admin.set_syncer("east", Syncer.WEDGED)
    with pytest.raises(RecoveryFailed, match="still not synced") as failed:
        await syncing.execute(RUN, STALLED, attempt())
    assert not failed.value.retryable
    assert failed.value.next_steps[0] == "restart the syncer of cluster east and read its logs"
    assert (await sim.admin.cluster("east"))["health_updates"][-1]["status"] == "False"


async def test_an_unready_cluster_is_retried(sim: FleetSimulator, syncing: SyncRecovery) -> None:
    await sim.admin.set_fault("east", FaultMode.ERROR500)
    with pytest.raises(RecoveryFailed, match="cluster east is not ready") as failed:
        await syncing.execute(RUN, STALLED, attempt())
    assert failed.value.retryable


async def test_dry_run_requests_no_resync(sim: FleetSimulator, syncing: SyncRecovery) -> None:
    await sim.admin.set_syncer("east", Syncer.STUCK)
    outcome = await syncing.execute(DRY_RUN, STALLED, attempt())
    assert "would request a re-sync of cluster east (rec-dry)" in outcome.actions
    assert await sim.admin.mutations("east") == []
