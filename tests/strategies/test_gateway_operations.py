"""The gateway operations the strategies use, through the HTTP adapter against the simulator:
typed errors, optimistic concurrency, credentials, capacity, placements, syncs, migrations."""

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from strategies.adapters.fleet import parse_fleet
from strategies.adapters.http_gateway import HttpClusterGateway
from strategies.gateway import (
    Conflict,
    Forbidden,
    GatewayError,
    NotFound,
    ObjectRef,
    Resources,
    Throttled,
    Unauthorized,
    Workspace,
)
from strategies.resources import migration as migration_ref
from strategies.resources import placement as placement_ref
from strategies.simulator import FaultMode, FleetSimulator, SimulatedCluster, Syncer
from tests.strategies.kube_objects import WEB, deployment, migration, placement

TMC = Workspace("root:tmc")


@pytest.fixture
async def sim() -> AsyncIterator[FleetSimulator]:
    clusters = [
        SimulatedCluster("east", labels={"region": "us", "tier": "gold"}),
        SimulatedCluster("west", labels={"region": "us", "tier": "silver"}, nodes=1),
    ]
    async with FleetSimulator(clusters) as simulator:
        yield simulator


async def test_update_with_the_read_version_succeeds_and_a_stale_one_conflicts(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    await sim.admin.put_object("east", deployment())
    read = await gateway.get_object("east", WEB)
    read["spec"]["replicas"] = 3
    written = await gateway.update_object("east", WEB, read)

    assert written["spec"]["replicas"] == 3
    assert written["metadata"]["resourceVersion"] != read["metadata"]["resourceVersion"]
    with pytest.raises(Conflict) as conflict:
        await gateway.update_object("east", WEB, read)
    assert conflict.value.status == 409
    assert "the object has been modified" in str(conflict.value)


async def test_a_conflicting_writer_makes_a_fresh_read_stale(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    await sim.admin.put_object("east", deployment())
    await sim.admin.add_conflicting_writer("east", WEB, {"metadata": {"labels": {"by": "hpa"}}})
    read = await gateway.get_object("east", WEB)
    with pytest.raises(Conflict):
        await gateway.update_object("east", WEB, read)
    again = await gateway.get_object("east", WEB)
    written = await gateway.update_object("east", WEB, again)
    assert written["metadata"]["labels"]["by"] == "hpa"


async def test_a_missing_object_is_not_found(gateway: HttpClusterGateway) -> None:
    with pytest.raises(NotFound, match=r'deployments\.apps "web" not found'):
        await gateway.get_object("east", WEB)


async def test_an_expired_token_is_unauthorized_until_the_rotated_one_is_read(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    before = await gateway.refresh_credentials("east")
    await sim.admin.expire_token("east")
    with pytest.raises(Unauthorized):
        await gateway.review_access("east", "get", "deployments", "apps")
    unchanged = await gateway.refresh_credentials("east")
    await sim.admin.rotate_token("east")
    rotated = await gateway.refresh_credentials("east")

    assert (before.rotated, unchanged.rotated) == (False, False)
    assert rotated.rotated
    assert rotated.fingerprint != before.fingerprint
    assert rotated.source.startswith("token_file ")
    assert (await gateway.review_access("east", "get", "deployments", "apps")).allowed


async def test_revoked_rbac_denies_reviews_and_forbids_calls(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    await sim.admin.put_object("east", deployment())
    granted = await gateway.review_access("east", "update", "deployments", "apps", "shop")
    await sim.admin.set_rbac("east", allowed=False)
    denied = await gateway.review_access("east", "update", "deployments", "apps", "shop")

    assert granted.allowed
    assert not denied.allowed
    assert "removed" in denied.reason
    with pytest.raises(Forbidden, match="cannot get resource"):
        await gateway.get_object("east", WEB)


async def test_capacity_is_allocatable_minus_requested(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    empty = await gateway.read_capacity("west")
    await sim.admin.fill("west")
    full = await gateway.read_capacity("west")

    assert empty.allocatable == Resources(4000, 16 * 2**30)
    assert empty.free == empty.allocatable
    assert full.free == Resources(0, 0)
    assert (await gateway.read_capacity("east")).free == Resources(8000, 32 * 2**30)


async def test_clusters_of_a_logical_cluster_with_labels(gateway: HttpClusterGateway) -> None:
    clusters = {c.name: c for c in await gateway.list_clusters("root:tmc")}
    assert set(clusters) == {"east", "west"}
    assert clusters["east"].labels == {"region": "us", "tier": "gold"}
    assert clusters["east"].ready
    assert await gateway.list_clusters("root:other") == []


async def test_a_placement_is_read_and_written_with_its_version(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    await sim.admin.put_object(TMC, placement("web", "east", {"region": "us"}))
    ref = placement_ref("web")
    read = await gateway.get_object(TMC, ref)
    read["spec"]["cluster"] = "west"
    await gateway.update_object(TMC, ref, read)

    assert (await sim.admin.get_object(TMC, ref))["spec"]["cluster"] == "west"
    with pytest.raises(Conflict):
        await gateway.update_object(TMC, ref, read)


@pytest.mark.parametrize(("syncer", "synced_after"), [(Syncer.STUCK, True), (Syncer.WEDGED, False)])
async def test_a_resync_unsticks_a_stuck_syncer_but_not_a_wedged_one(
    sim: FleetSimulator, gateway: HttpClusterGateway, syncer: Syncer, synced_after: bool
) -> None:
    await sim.admin.set_syncer("east", syncer)
    before = await gateway.sync_status("east")
    await gateway.trigger_resync("east", "resync-1")
    after = await gateway.sync_status("east")

    assert (before.synced, before.reason) == (False, "SyncerStuck")
    assert after.observed_resync == "resync-1"
    assert after.synced is synced_after


async def test_a_migration_resumes_from_its_checkpoint_when_the_target_is_healthy(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    await sim.admin.put_object(TMC, migration("move-web", "east", "west", "VolumesCopied"))
    failed = await gateway.get_migration("root:tmc", "move-web")
    wrong = await gateway.resume_migration("root:tmc", "move-web", "Started", "r1")
    resumed = await gateway.resume_migration("root:tmc", "move-web", "VolumesCopied", "r2")

    assert (failed.phase, failed.checkpoint, failed.target) == ("Failed", "VolumesCopied", "west")
    assert wrong.phase == "Failed"
    assert "not the checkpoint" in wrong.message
    assert resumed.phase == "Completed"


async def test_a_migration_rolls_back_only_to_a_healthy_source(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    await sim.admin.put_object(TMC, migration("move-web", "east", "west", "VolumesCopied"))
    await sim.admin.set_fault("west", FaultMode.DOWN)
    stuck = await gateway.resume_migration("root:tmc", "move-web", "VolumesCopied", "r1")
    await sim.admin.set_fault("east", FaultMode.DOWN)
    refused = await gateway.rollback_migration("root:tmc", "move-web", "r2")
    await sim.admin.set_fault("east", FaultMode.HEALTHY)
    same_request = await gateway.rollback_migration("root:tmc", "move-web", "r2")
    rolled_back = await gateway.rollback_migration("root:tmc", "move-web", "r3")

    assert stuck.phase == "Failed"
    assert "target cluster west is not ready" in stuck.message
    assert refused.message == "rollback failed: source cluster east is not ready"
    assert (same_request.phase, same_request.settled) == ("Failed", True)
    assert rolled_back.phase == "RolledBack"
    stored = await sim.admin.get_object(TMC, migration_ref("move-web"))
    assert stored["spec"]["action"] == "Rollback"


async def test_a_429_is_retried_after_retry_after(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    await sim.admin.set_fault("east", FaultMode.THROTTLE, for_requests=1, delay_s=0)
    assert (await gateway.read_capacity("east")).allocatable.cpu_milli == 8000
    statuses = [r["status"] for r in (await sim.admin.cluster("east"))["requests"]]
    assert statuses[:2] == [429, 200]


async def test_a_retry_after_beyond_the_budget_is_throttled(sim: FleetSimulator) -> None:
    await sim.admin.set_fault("east", FaultMode.THROTTLE, delay_s=30)
    async with HttpClusterGateway(sim.fleet, request_timeout_s=1.0) as gateway:
        with pytest.raises(Throttled, match="cluster east is throttling us: 429") as throttled:
            await gateway.read_capacity("east")
    assert throttled.value.wait_s == 30
    statuses = [r["status"] for r in (await sim.admin.cluster("east"))["requests"]]
    assert statuses == [429], "given up at once, not after sleeping past the budget"


def exec_fleet(sim: FleetSimulator, script: Path) -> HttpClusterGateway:
    document = sim.fleet.model_dump(mode="json", exclude_none=True)
    east = {k: v for k, v in document["clusters"]["east"].items() if k != "token_file"}
    east["exec"] = {"command": sys.executable, "args": [str(script)]}
    document["clusters"]["east"] = east
    return HttpClusterGateway(parse_fleet(document))


async def test_an_exec_plugin_supplies_the_token(sim: FleetSimulator, tmp_path: Path) -> None:
    token_file = sim.fleet.cluster("east").token_file
    script = tmp_path / "credential.py"
    script.write_text(
        "import json, os, pathlib\n"
        "assert json.loads(os.environ['KUBERNETES_EXEC_INFO'])['kind'] == 'ExecCredential'\n"
        f"token = pathlib.Path({str(token_file)!r}).read_text()\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1',"
        " 'kind': 'ExecCredential', 'status': {'token': token}}))\n"
    )
    async with exec_fleet(sim, script) as gateway:
        credentials = await gateway.refresh_credentials("east")
        review = await gateway.review_access("east", "list", "pods")
    assert credentials.source == f"exec plugin {sys.executable}"
    assert review.allowed


async def test_a_failing_exec_plugin_is_a_gateway_error(
    sim: FleetSimulator, tmp_path: Path
) -> None:
    script = tmp_path / "credential.py"
    script.write_text("import sys\nsys.exit('no session: run cloud-login')\n")
    async with exec_fleet(sim, script) as gateway:
        with pytest.raises(GatewayError, match="exited with 1: no session: run cloud-login"):
            await gateway.refresh_credentials("east")


def test_object_paths_are_the_api_servers() -> None:
    assert WEB.path() == "/apis/apps/v1/namespaces/shop/deployments/web"
    assert ObjectRef("v1", "nodes", "n1").path() == "/api/v1/nodes/n1"
    assert WEB.describe() == "deployments.apps shop/web"
