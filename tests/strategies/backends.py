"""The two servers the adapter's conformance tests run against: the fleet simulator, and real
kube-apiservers (tests/kube's fixture: a control plane with the TMC CRDs, two clusters).

Each backend seeds objects as an administrator would and hands out adapters for three
identities: ours (allowed everything), a stranger (authenticated, no RBAC) and an impostor
(a token the server does not know).
"""

import json
import secrets
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import pytest

from strategies.adapters.fleet import Fleet, parse_fleet
from strategies.adapters.http_gateway import HttpClusterGateway
from strategies.gateway import KubeObject, Location, ObjectRef, Workspace
from strategies.resources import plural, sync_target
from strategies.simulator import FleetSimulator, SimulatedCluster
from tests.kube.cluster import USERS, Cluster
from tests.kube.cluster import Fleet as KubeFleet
from tests.kube.plugin import KUBE_PARAM

CLUSTERS = ("cluster-1", "cluster-2")
LOGICAL = "root:tmc"
#: The labels both backends give the clusters' SyncTargets.
LABELS: Mapping[str, Mapping[str, str]] = {
    "cluster-1": {"region": "eu", "tier": "gold"},
    "cluster-2": {"region": "us", "tier": "silver"},
}


class Backend(Protocol):
    name: str

    async def namespace(self) -> str:
        """A namespace that exists, for this test's namespaced objects."""
        ...

    async def create(self, where: Location, obj: KubeObject) -> KubeObject:
        """Create ``obj`` (status included) as an administrator."""
        ...

    async def read(self, where: Location, ref: ObjectRef) -> KubeObject: ...

    def gateway(self, identity: str = "ours") -> HttpClusterGateway:
        """An adapter presenting ``identity``: ours, stranger or impostor."""
        ...


class SimulatorBackend:
    name = "simulator"

    def __init__(self, sim: FleetSimulator, workdir: Path) -> None:
        self._sim = sim
        self._workdir = workdir

    async def namespace(self) -> str:
        return f"test-{secrets.token_hex(4)}"

    async def create(self, where: Location, obj: KubeObject) -> KubeObject:
        return await self._sim.admin.put_object(where, obj)

    async def read(self, where: Location, ref: ObjectRef) -> KubeObject:
        if isinstance(where, Workspace) and ref.resource == "synctargets":
            state: KubeObject = (await self._sim.admin.cluster(ref.name))["sync_target"]
            return state
        return await self._sim.admin.get_object(where, ref)

    def gateway(self, identity: str = "ours") -> HttpClusterGateway:
        if identity == "ours":
            return HttpClusterGateway(self._sim.fleet)
        document = self._sim.fleet.model_dump(mode="json", exclude_none=True)
        if identity == "impostor":
            wrong = self._workdir / "impostor.token"
            wrong.write_text("not-a-known-token")
            for entry in document["clusters"].values():
                entry["token_file"] = str(wrong)
        return HttpClusterGateway(parse_fleet(document))

    async def revoke(self, cluster: str) -> None:
        """The simulator has one identity per cluster: a stranger is ours with RBAC revoked."""
        await self._sim.admin.set_rbac(cluster, allowed=False)


class KubeBackend:
    name = "kube-apiserver"

    def __init__(self, fleet: KubeFleet, workdir: Path) -> None:
        self._fleet = fleet
        self._workdir = workdir
        self._by_name = {c.name: c for c in fleet.clusters}

    def _server(self, where: Location) -> Cluster:
        return self._fleet.control_plane if isinstance(where, Workspace) else self._by_name[where]

    async def namespace(self) -> str:
        cluster = self._by_name[CLUSTERS[0]]
        namespace = await cluster.fresh_namespace()
        account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}
        async with cluster.session() as session:  # no controller-manager creates it
            await _ok(session.post(f"/api/v1/namespaces/{namespace}/serviceaccounts", json=account))
        return namespace

    async def create(self, where: Location, obj: KubeObject) -> KubeObject:
        metadata = obj["metadata"]
        ref = ObjectRef(
            obj["apiVersion"], plural(obj["kind"]), metadata["name"], metadata.get("namespace")
        )
        collection = ref.path().rpartition("/")[0]
        async with self._server(where).session() as session:
            created = await _ok(session.post(collection, json=obj))
            if "status" in obj and obj["kind"] != "Node":
                status = {**created, "status": obj["status"]}
                created = await _ok(session.put(f"{ref.path()}/status", json=status))
        return created

    async def read(self, where: Location, ref: ObjectRef) -> KubeObject:
        async with self._server(where).session() as session:
            return await _ok(session.get(ref.path()))

    async def sync_targets(self) -> None:
        """SyncTargets for both clusters, labelled as LABELS says (once per session)."""
        async with self._fleet.control_plane.session() as session:
            for name in CLUSTERS:
                path = sync_target(name).path()
                async with session.get(path) as response:
                    if response.status == 200:
                        continue
                target = {
                    "apiVersion": "tmc.kcp.io/v1alpha1",
                    "kind": "SyncTarget",
                    "metadata": {"name": name, "labels": dict(LABELS[name])},
                }
                await _ok(session.post(path.rpartition("/")[0], json=target))

    def gateway(self, identity: str = "ours") -> HttpClusterGateway:
        return HttpClusterGateway(self._fleet_file(identity))

    def _fleet_file(self, identity: str) -> Fleet:
        def token(cluster: Cluster) -> str:
            value = {"ours": cluster.admin_token, "stranger": cluster.tokens[USERS[0]]}.get(
                identity, "not-a-known-token"
            )
            path = self._workdir / f"{cluster.name}-{identity}.token"
            path.write_text(value)
            return str(path)

        plane = self._fleet.control_plane
        return parse_fleet(
            {
                "control_plane": {
                    "url": plane.url,
                    "ca_file": str(plane.ca_file),
                    "token_file": token(plane),
                    "logical_cluster_paths": False,
                },
                "clusters": {
                    cluster.name: {
                        "server": cluster.url,
                        "ca_file": str(cluster.ca_file),
                        "token_file": token(cluster),
                        "logical_cluster": LOGICAL,
                    }
                    for cluster in self._fleet.clusters
                },
            }
        )


async def _ok(request: Any) -> KubeObject:
    async with request as response:
        body: KubeObject = await response.json()
        assert response.status in (200, 201), json.dumps(body)[:500]
        return body


@pytest.fixture(params=["simulator", KUBE_PARAM])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Each test that takes it runs against both servers (import it into the test module)."""
    if request.param == KUBE_PARAM:
        kube: KubeFleet = request.getfixturevalue("kube_fleet")
        real = KubeBackend(kube, tmp_path)
        await real.sync_targets()
        yield real
        return
    clusters = [SimulatedCluster(name, LOGICAL, labels=LABELS[name]) for name in CLUSTERS]
    async with FleetSimulator(clusters) as sim:
        yield SimulatorBackend(sim, tmp_path)
