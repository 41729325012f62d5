"""Strategies against real kube-apiservers (tests/kube), through the HTTP adapter, where the
fault is a Kubernetes one: a token rotated on disk, RBAC that denies, a conflicting update,
a placement whose cluster is full. Healing a sync or a migration needs its controller,
which these servers do not run: there the strategies must write their request and wait
for an answer that does not come (retryable), never read silence as a verdict."""

import copy
import json
import secrets
from pathlib import Path

import pytest

from schemas.records import ErrorType
from strategies.base import RecoveryFailed
from strategies.builtin import (
    ClusterAuthRecovery,
    GenericRecovery,
    MigrationRecovery,
    PlacementRecovery,
    ResourceConflictRecovery,
    SyncRecovery,
)
from strategies.builtin.polling import Checks
from strategies.gateway import ObjectRef, Workspace
from strategies.resources import LAST_APPLIED, RESYNC_ANNOTATION, sync_target
from strategies.resources import migration as migration_ref
from strategies.resources import placement as placement_ref
from strategies.simulator.kube import new_node
from tests.kube.cluster import USERS
from tests.kube.cluster import Fleet as KubeFleet
from tests.strategies.backends import CLUSTERS, LOGICAL, KubeBackend
from tests.strategies.kube_objects import deployment, migration, placement
from tests.strategies.scenario import RUN, attempt, error

EAST, WEST = CLUSTERS
TMC = Workspace(LOGICAL)


@pytest.fixture
async def kube(kube_fleet: KubeFleet, tmp_path: Path) -> KubeBackend:
    backend = KubeBackend(kube_fleet, tmp_path)
    await backend.sync_targets()
    return backend


async def test_auth_picks_up_a_token_rotated_on_disk(kube: KubeBackend, tmp_path: Path) -> None:
    gateway = kube.gateway()
    token_file = tmp_path / f"{EAST}-ours.token"
    good = token_file.read_text()
    token_file.write_text("expired-token")
    async with gateway:
        await gateway.refresh_credentials(EAST)
        assert (await gateway.probe(EAST)).status == 401
        token_file.write_text(good)  # the rotation, as kubelet rewrites a projected token
        outcome = await ClusterAuthRecovery(gateway).execute(
            RUN, error(ErrorType.CLUSTER_AUTHENTICATION, EAST), attempt()
        )
    assert outcome.metrics["credentials_rotated"] == 1
    assert "can list namespaces: yes" in outcome.actions[1]
    target = await kube.read(TMC, sync_target(EAST))
    ready = next(c for c in target["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "CredentialsRefreshed")


async def test_auth_with_no_rbac_fails_for_good(kube: KubeBackend) -> None:
    async with kube.gateway("stranger") as gateway:
        with pytest.raises(RecoveryFailed, match="RBAC denies list namespaces") as failed:
            await ClusterAuthRecovery(gateway).execute(
                RUN, error(ErrorType.CLUSTER_AUTHENTICATION, EAST), attempt()
            )
    assert not failed.value.retryable
    assert failed.value.next_steps[0].startswith(
        f"grant tmc-recovery list namespaces on {EAST}"[:30]
    )
    assert USERS[0] == "alice"


async def test_conflict_merges_into_what_others_changed(kube: KubeBackend) -> None:
    namespace = await kube.namespace()
    applied = deployment()
    applied["metadata"]["namespace"] = namespace
    live = copy.deepcopy(applied)
    live["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(applied)}
    live["spec"]["replicas"] = 5
    await kube.create(EAST, live)
    desired = deployment(image="shop/web:2.0", version="2")
    ref = ObjectRef("apps/v1", "deployments", "web", namespace)
    async with kube.gateway() as gateway:
        outcome = await ResourceConflictRecovery(gateway).execute(
            RUN, error(ErrorType.RESOURCE_CONFLICT, EAST, ref=ref, desired=desired), attempt()
        )
    final = await kube.read(EAST, ref)
    assert outcome.metrics["fields_merged"] == 2
    assert final["spec"]["replicas"] == 5
    assert final["spec"]["template"]["spec"]["containers"][0]["image"] == "shop/web:2.0"
    assert final["metadata"]["labels"] == {"app": "web", "version": "2"}


async def test_placement_moves_to_a_cluster_with_room_or_fails_for_good(
    kube: KubeBackend,
) -> None:
    name = f"web-{secrets.token_hex(4)}"
    await kube.create(WEST, new_node(f"big-{secrets.token_hex(4)}", "64", "256Gi"))
    await kube.create(TMC, placement(name, EAST, {}, cpu="2", memory="4Gi"))
    stuck = f"{name}-gold"
    await kube.create(TMC, placement(stuck, EAST, {"tier": "gold"}))
    placement_error = error(ErrorType.PLACEMENT_CAPACITY, EAST, placement=name)
    async with kube.gateway() as gateway:
        placer = PlacementRecovery(gateway)
        outcome = await placer.execute(RUN, placement_error, attempt())
        with pytest.raises(RecoveryFailed) as nowhere:
            await placer.execute(
                RUN, error(ErrorType.PLACEMENT_CAPACITY, EAST, placement=stuck), attempt()
            )
    assert (await kube.read(TMC, placement_ref(name)))["spec"]["cluster"] == WEST
    assert outcome.message.startswith(f"placement {name} now on {WEST}")
    assert not nowhere.value.retryable


async def test_sync_and_migration_requests_land_and_wait_for_their_controllers(
    kube: KubeBackend,
) -> None:
    name = f"move-{secrets.token_hex(4)}"
    await kube.create(TMC, migration(name, EAST, WEST, "VolumesCopied"))
    failure = error(ErrorType.MIGRATION_FAILURE, WEST, migration=name)
    async with kube.gateway() as gateway:
        with pytest.raises(RecoveryFailed, match="has not acted on the request") as unmoved:
            await MigrationRecovery(gateway, checks=Checks(2, 0.05)).execute(
                RUN, failure, attempt()
            )
        with pytest.raises(RecoveryFailed, match="not picked up the re-sync") as unsynced:
            await SyncRecovery(gateway, checks=Checks(2, 0.05)).execute(
                RUN, error(ErrorType.SYNC_FAILURE, EAST), attempt()
            )
    stored = await kube.read(TMC, migration_ref(name))
    assert (stored["spec"]["action"], stored["status"]["phase"]) == ("Resume", "Failed")
    assert unmoved.value.retryable
    assert unsynced.value.retryable
    target = await kube.read(TMC, sync_target(EAST))
    assert target["metadata"]["annotations"][RESYNC_ANNOTATION] == RUN.recovery_id


async def test_generic_checks_the_cluster_and_redoes_a_failed_read(kube: KubeBackend) -> None:
    namespace = await kube.namespace()
    ref = ObjectRef("v1", "serviceaccounts", "default", namespace)
    failed_read = error(
        ErrorType.INTERNAL_ERROR, EAST, ref=ref, kind="ServiceAccount", operation="get"
    )
    async with kube.gateway() as gateway:
        outcome = await GenericRecovery(gateway, wait_s=0.01).execute(RUN, failed_read, attempt())
    assert outcome.actions[1].startswith(f"probed cluster {EAST} readiness: healthy (200")
    assert outcome.message == f"get on cluster {EAST} works again"
