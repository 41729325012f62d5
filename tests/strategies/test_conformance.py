"""The adapter's operations against both servers, so the simulator is held to answer like a
real kube-apiserver wherever they overlap: typed errors from real Status bodies, optimistic
concurrency, access reviews, capacity from nodes and pods, the TMC objects on the control
plane. What only a controller does (a syncer echoing a re-sync, a migration moving on) is
the simulator's alone and tested in test_gateway_operations."""

import secrets
from datetime import UTC, datetime

import pytest

from schemas.records import EventMeta, EventSource, EventType, ObjectReference, RecoveryEvent
from strategies.gateway import (
    ClusterHealth,
    Conflict,
    Forbidden,
    NotFound,
    ObjectRef,
    Unauthorized,
    Workspace,
)
from strategies.resources import RESYNC_ANNOTATION, sync_target
from strategies.resources import migration as migration_ref
from strategies.resources import placement as placement_ref
from strategies.simulator.kube import new_node, new_pod
from tests.strategies.backends import (
    CLUSTERS,
    LABELS,
    LOGICAL,
    Backend,
    SimulatorBackend,
    backend,
)
from tests.strategies.kube_objects import deployment, migration, placement

__all__ = ["backend"]

EAST = CLUSTERS[0]
TMC = Workspace(LOGICAL)


def unique(prefix: str) -> str:
    """Cluster-scoped objects outlive a test on the session's apiservers: never reuse a name."""
    return f"{prefix}-{secrets.token_hex(4)}"


async def test_update_is_optimistic_and_a_stale_version_is_a_conflict(backend: Backend) -> None:
    namespace = await backend.namespace()
    web = deployment()
    web["metadata"]["namespace"] = namespace
    ref = ObjectRef("apps/v1", "deployments", "web", namespace)
    await backend.create(EAST, web)
    async with backend.gateway() as gateway:
        read = await gateway.get_object(EAST, ref)
        read["spec"]["replicas"] = 4
        written = await gateway.update_object(EAST, ref, read)
        with pytest.raises(Conflict, match="the object has been modified") as stale:
            await gateway.update_object(EAST, ref, read)
        with pytest.raises(NotFound, match='"nothing" not found'):
            await gateway.get_object(
                EAST, ObjectRef("apps/v1", "deployments", "nothing", namespace)
            )
    assert written["spec"]["replicas"] == 4
    assert written["metadata"]["resourceVersion"] != read["metadata"]["resourceVersion"]
    assert stale.value.status == 409
    assert (await backend.read(EAST, ref))["spec"]["replicas"] == 4


async def test_access_reviews_and_typed_refusals(backend: Backend) -> None:
    namespace = await backend.namespace()
    ref = ObjectRef("v1", "configmaps", "settings", namespace)
    async with backend.gateway() as ours:
        allowed = await ours.review_access(EAST, "update", "deployments", "apps", namespace)
    if isinstance(backend, SimulatorBackend):
        await backend.revoke(EAST)
    async with backend.gateway("stranger") as stranger:
        denied = await stranger.review_access(EAST, "update", "deployments", "apps", namespace)
        with pytest.raises(Forbidden, match="cannot get resource"):
            await stranger.get_object(EAST, ref)
    async with backend.gateway("impostor") as impostor:
        with pytest.raises(Unauthorized):
            await impostor.get_object(EAST, ref)
    assert allowed.allowed
    assert not denied.allowed


async def test_capacity_counts_nodes_allocatable_and_live_pods_requests(backend: Backend) -> None:
    namespace = await backend.namespace()
    async with backend.gateway() as gateway:
        before = await gateway.read_capacity(EAST)
        await backend.create(EAST, new_node(unique("node"), "4", "8Gi"))
        await backend.create(EAST, new_pod(namespace, "app", "1500m", "512Mi"))
        after = await gateway.read_capacity(EAST)
    assert after.allocatable.cpu_milli - before.allocatable.cpu_milli == 4000
    assert after.allocatable.memory_bytes - before.allocatable.memory_bytes == 8 * 2**30
    assert after.requested.cpu_milli - before.requested.cpu_milli == 1500
    assert after.requested.memory_bytes - before.requested.memory_bytes == 512 * 2**20


async def test_sync_targets_list_with_labels_record_health_and_take_a_resync(
    backend: Backend,
) -> None:
    async with backend.gateway() as gateway:
        clusters = {c.name: c for c in await gateway.list_clusters(LOGICAL)}
        await gateway.record_health(EAST, ClusterHealth(False, "ClusterUnreachable", "down"))
        down = await gateway.recorded_health(EAST)
        await gateway.record_health(EAST, ClusterHealth(True, "ClusterReachable", "ok"))
        up = await gateway.recorded_health(EAST)
        await gateway.trigger_resync(EAST, "rec-42")
        status = await gateway.sync_status(EAST)
    assert down == ClusterHealth(False, "ClusterUnreachable", "down")
    assert up == ClusterHealth(True, "ClusterReachable", "ok")
    assert {name: dict(clusters[name].labels) for name in CLUSTERS} == LABELS
    target = await backend.read(TMC, sync_target(EAST))
    ready = [c for c in target["status"]["conditions"] if c["type"] == "Ready"]
    assert [(c["status"], c["reason"]) for c in ready] == [("True", "ClusterReachable")]
    assert target["metadata"]["annotations"][RESYNC_ANNOTATION] == "rec-42"
    assert status.reason in ("Synced", "NoSyncerStatus")


async def test_an_event_is_written_beside_the_sync_target_once(backend: Backend) -> None:
    name = unique(f"{EAST}.recovery")
    at = datetime(2026, 12, 1, 18, 0, 5, tzinfo=UTC)
    event = RecoveryEvent(
        metadata=EventMeta(name=name, annotations={"tmc.kcp.io/recovery-id": "rec-1"}),
        involved_object=ObjectReference("SyncTarget", EAST, api_version="tmc.kcp.io/v1alpha1"),
        reason="RecoveryFailed",
        message="ClusterConnectivity recovery failed after 3 attempts: still down",
        type=EventType.WARNING,
        first_timestamp=at,
        last_timestamp=at,
        source=EventSource("tmc-recovery", "w1"),
    )
    async with backend.gateway() as gateway:
        await gateway.record_event(EAST, event)
        await gateway.record_event(EAST, event)  # a repeat (a resumed recovery) is no error
    stored = await backend.read(TMC, ObjectRef("v1", "events", name, "default"))
    assert (stored["reason"], stored["type"], stored["count"]) == ("RecoveryFailed", "Warning", 1)
    assert stored["message"] == event.message
    involved = stored["involvedObject"]
    assert (involved["kind"], involved["name"], involved["apiVersion"]) == (
        "SyncTarget", EAST, "tmc.kcp.io/v1alpha1",
    )  # fmt: skip
    assert stored["firstTimestamp"] == stored["lastTimestamp"] == "2026-12-01T18:00:05Z"
    assert stored["source"] == {"component": "tmc-recovery", "host": "w1"}
    assert stored["metadata"]["annotations"] == {"tmc.kcp.io/recovery-id": "rec-1"}


async def test_placements_are_written_with_their_version(backend: Backend) -> None:
    name = unique("web")
    await backend.create(TMC, placement(name, EAST, {"tier": "gold"}))
    ref = placement_ref(name)
    async with backend.gateway() as gateway:
        read = await gateway.get_object(TMC, ref)
        await gateway.update_object(TMC, ref, {**read, "spec": {**read["spec"], "cluster": "x"}})
        with pytest.raises(Conflict):
            await gateway.update_object(TMC, ref, read)
    assert (await backend.read(TMC, ref))["spec"]["cluster"] == "x"


async def test_a_migration_is_read_and_asked_to_resume(backend: Backend) -> None:
    name = unique("move")
    await backend.create(TMC, migration(name, CLUSTERS[0], CLUSTERS[1], "VolumesCopied"))
    async with backend.gateway() as gateway:
        read = await gateway.get_migration(LOGICAL, name)
        written = await gateway.resume_migration(LOGICAL, name, "VolumesCopied", "rec-1")
    stored = await backend.read(TMC, migration_ref(name))
    assert (read.phase, read.checkpoint, read.source, read.target) == (
        "Failed",
        "VolumesCopied",
        *CLUSTERS,
    )
    assert (stored["spec"]["action"], stored["spec"]["resumeFrom"]) == ("Resume", "VolumesCopied")
    assert written.generation == read.generation + 1
