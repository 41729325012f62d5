"""The fixture's apiservers write like real ones: conflicts, server-side apply, CRD status."""

from typing import Any

from tests.kube import crds
from tests.kube.cluster import Fleet

APPLY = {"Content-Type": "application/apply-patch+yaml"}
MERGE = {"Content-Type": "application/merge-patch+json"}


def config_map(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


async def test_a_stale_resource_version_is_a_409_with_a_status_body(kube_fleet: Fleet) -> None:
    cluster = kube_fleet.clusters[0]
    namespace = await cluster.fresh_namespace()
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    async with cluster.session() as session:
        async with session.post(path, json=config_map("app", color="red")) as response:
            assert response.status == 201
            created = await response.json()
        fresh = {**created, "data": {"color": "blue"}}
        async with session.put(f"{path}/app", json=fresh) as response:
            assert response.status == 200
        stale = {**created, "data": {"color": "green"}}
        async with session.put(f"{path}/app", json=stale) as response:
            status = await response.json()
    assert response.status == 409
    assert status["kind"] == "Status"
    assert status["reason"] == "Conflict"
    assert status["code"] == 409
    assert "the object has been modified" in status["message"]


async def test_server_side_apply_tracks_field_owners(kube_fleet: Fleet) -> None:
    cluster = kube_fleet.clusters[0]
    namespace = await cluster.fresh_namespace()
    path = f"/api/v1/namespaces/{namespace}/configmaps/app"
    async with cluster.session() as session:
        mine = config_map("app", color="red")
        async with session.patch(
            path, params={"fieldManager": "tmc-recovery"}, json=mine, headers=APPLY
        ) as response:
            assert response.status == 201
        theirs = config_map("app", color="blue")
        async with session.patch(
            path, params={"fieldManager": "syncer"}, json=theirs, headers=APPLY
        ) as response:
            conflict = await response.json()
        assert response.status == 409
        assert conflict["details"]["causes"][0]["field"] == ".data.color"
        async with session.patch(
            path, params={"fieldManager": "syncer", "force": "true"}, json=theirs, headers=APPLY
        ) as response:
            forced = await response.json()
    assert response.status == 200
    assert forced["data"] == {"color": "blue"}
    managers = {entry["manager"] for entry in forced["metadata"]["managedFields"]}
    assert managers == {"syncer"}


async def test_crd_status_takes_a_merge_patch_and_its_schema_holds(kube_fleet: Fleet) -> None:
    cluster = kube_fleet.control_plane
    path = f"/apis/{crds.GROUP}/{crds.VERSION}/migrations"
    migration = {
        "apiVersion": f"{crds.GROUP}/{crds.VERSION}",
        "kind": "Migration",
        "metadata": {"generateName": "move-"},
        "spec": {"source": "cluster-1", "target": "cluster-2"},
    }
    async with cluster.session() as session:
        async with session.post(path, json=migration) as response:
            assert response.status == 201
            name = (await response.json())["metadata"]["name"]
        status = {"status": {"phase": "Running", "checkpoint": {"step": 3}}}
        async with session.patch(f"{path}/{name}/status", json=status, headers=MERGE) as response:
            patched = await response.json()
        assert response.status == 200
        assert patched["status"] == {"phase": "Running", "checkpoint": {"step": 3}}
        # The status subresource leaves spec alone, and the schema refuses an unknown phase.
        spec = {"spec": {"target": "elsewhere"}, "status": {"phase": "Completed"}}
        async with session.patch(f"{path}/{name}/status", json=spec, headers=MERGE) as response:
            assert (await response.json())["spec"]["target"] == "cluster-2"
        bad = {"status": {"phase": "Sideways"}}
        async with session.patch(f"{path}/{name}/status", json=bad, headers=MERGE) as response:
            invalid = await response.json()
    assert response.status == 422
    assert invalid["reason"] == "Invalid"
    assert invalid["details"]["causes"][0]["field"] == "status.phase"
