"""Each built-in's ``verify`` against the simulator through the real adapter: it tells a fault
that is still there from one that has gone, and changes nothing while looking."""

from typing import Any

from schemas.records import ErrorType, TMCError
from strategies.adapters.http_gateway import HttpClusterGateway
from strategies.builtin import (
    ClusterAuthRecovery,
    ClusterConnectivityRecovery,
    GenericRecovery,
    MigrationRecovery,
    PlacementRecovery,
    ResourceConflictRecovery,
    SyncRecovery,
)
from strategies.gateway import ClusterHealth, Workspace
from strategies.simulator import FaultMode, FleetSimulator, Syncer
from tests.strategies.conftest import unreachable
from tests.strategies.kube_objects import WEB, applied_then_scaled, deployment, migration, placement
from tests.strategies.scenario import error

TMC = Workspace("root:tmc")


def conflict(desired: dict[str, Any]) -> TMCError:
    return error(ErrorType.RESOURCE_CONFLICT, ref=WEB, desired=desired)


async def no_writes(sim: FleetSimulator, *clusters: str) -> None:
    for cluster in clusters:
        assert await sim.admin.mutations(cluster) == [], f"verify wrote to {cluster}"


async def test_connectivity_sees_an_unready_cluster_and_a_recorded_not_ready(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    strategy = ClusterConnectivityRecovery(gateway)
    healthy = await strategy.verify(unreachable("east"))
    assert healthy is not None
    assert not healthy.present
    assert healthy.detail.startswith("cluster east is reachable and ready (readyz answered ok")

    await sim.admin.set_fault("east", FaultMode.DOWN, for_requests=1)
    down = await strategy.verify(unreachable("east"))
    assert down is not None
    assert down.present
    assert "readyz answered 503" in down.detail
    await no_writes(sim, "east")

    await gateway.record_health("west", ClusterHealth(False, "ClusterUnreachable", "gone"))
    recorded = await strategy.verify(unreachable("west"))
    assert recorded is not None
    assert recorded.present, "readyz is fine, but the control plane still says not Ready"
    assert recorded.detail.endswith("still records Ready=False (ClusterUnreachable)")


async def test_sync_sees_the_syncers_condition(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    strategy = SyncRecovery(gateway)
    await sim.admin.set_syncer("east", Syncer.STUCK)
    stuck = await strategy.verify(error(ErrorType.SYNC_FAILURE, "east"))
    await sim.admin.set_syncer("east", Syncer.HEALTHY)
    synced = await strategy.verify(error(ErrorType.SYNC_FAILURE, "east"))
    assert stuck is not None
    assert stuck.present
    assert synced is not None
    assert not synced.present
    await no_writes(sim, "east")


async def test_migration_and_placement_see_whether_the_object_moved_on(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    await sim.admin.put_object(TMC, migration("move-web", "east", "west", "VolumesCopied"))
    failed = error(ErrorType.MIGRATION_FAILURE, "west", migration="move-web")
    half_done = await MigrationRecovery(gateway).verify(failed)
    done = migration("move-web", "east", "west", "VolumesCopied")
    done["status"]["phase"] = "Completed"
    await sim.admin.put_object(TMC, done)
    completed = await MigrationRecovery(gateway).verify(failed)
    assert half_done is not None
    assert half_done.present
    assert completed is not None
    assert not completed.present

    await sim.admin.put_object(TMC, placement("web", "west", {}))
    stuck = error(ErrorType.PLACEMENT_CAPACITY, "east", placement="web")
    moved = await PlacementRecovery(gateway).verify(stuck)
    still = await PlacementRecovery(gateway).verify(
        error(ErrorType.PLACEMENT_CAPACITY, "west", placement="web")
    )
    assert moved is not None
    assert (moved.present, moved.detail) == (False, "placement web has moved to west")
    assert still is not None
    assert still.present
    await no_writes(sim, "east", "west")


async def test_conflict_sees_whether_live_already_holds_the_change(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    await applied_then_scaled(sim)
    strategy = ResourceConflictRecovery(gateway)
    held = await strategy.verify(conflict(deployment()))
    lacking = await strategy.verify(conflict(deployment(image="shop/web:2.0")))
    assert held is not None
    assert not held.present
    assert lacking is not None
    assert lacking.present
    assert lacking.detail == "merged 1 field(s) into deployments.apps shop/web"
    assert await strategy.verify(error(ErrorType.RESOURCE_CONFLICT, ref=WEB)) is None
    await no_writes(sim, "east")


async def test_auth_and_generic_cannot_tell(gateway: HttpClusterGateway) -> None:
    assert (
        await ClusterAuthRecovery(gateway).verify(error(ErrorType.CLUSTER_AUTHENTICATION)) is None
    )
    assert await GenericRecovery(gateway).verify(error(ErrorType.SYNC_FAILURE)) is None
