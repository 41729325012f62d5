"""What the simulator knows: its clusters, the control plane's SyncTargets, the faults in force,
and logs for tests and demos to inspect:

- per endpoint, the last ``REQUEST_LOG_SIZE`` requests: method, path, status, the fault
  applied, the wall-clock arrival ``time`` (``time.time()``) and the client's
  ``connection`` (its ``host:port``; a new TCP connection has a new one), plus how many
  distinct connections the endpoint has served;
- per cluster, every mutating request aimed at it (``mutations``, see ``Mutation``) and
  the Ready condition after each accepted status write (``health_updates``).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from aiohttp import web

from strategies.simulator.faults import Fault, FaultMode, healthy
from strategies.simulator.kube import new_node, new_sync_target
from strategies.simulator.objects import ObjectStore

REQUEST_LOG_SIZE = 500
MUTATION_LOG_SIZE = 10_000
#: The methods that change state on an API server.
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Syncer(StrEnum):
    """A cluster's syncer: working, stuck (a re-sync unsticks it) or wedged (nothing helps)."""

    HEALTHY = "healthy"
    STUCK = "stuck"
    WEDGED = "wedged"


@dataclass(frozen=True)
class SimulatedCluster:
    """A cluster to simulate; by default it demands a random bearer token of its own and has
    two nodes of 4 CPUs and 16Gi each, with nothing running."""

    name: str
    logical_cluster: str = "root:tmc"
    token: str | None = field(default_factory=new_token, repr=False)
    labels: Mapping[str, str] = field(default_factory=dict)
    nodes: int = 2
    node_cpu: str = "4"
    node_memory: str = "16Gi"


def bearer_matches(request: web.Request, token: str | None) -> bool:
    """Whether the request carries ``token`` (always true for an endpoint without one)."""
    if token is None:
        return True
    presented = request.headers.get("Authorization", "")
    return secrets.compare_digest(presented.encode(), f"Bearer {token}".encode())


def connection_of(request: web.Request) -> str:
    """The client end of the request's TCP connection, ``host:port``.

    A client that drops its pooled connection and reconnects shows up with another port
    (the old one is in TIME_WAIT on the client's side, so it cannot come back at once).
    """
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return "unknown"


@dataclass(eq=False)
class EndpointState:
    """An API server (a cluster's, or the control plane): its token, fault and request log."""

    token: str | None = field(repr=False)
    fault: Fault = field(default_factory=healthy)
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=REQUEST_LOG_SIZE))
    connections: set[str] = field(default_factory=set)

    def record(self, request: web.Request, status: int, mode: FaultMode, arrived: float) -> None:
        connection = connection_of(request)
        self.connections.add(connection)
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "status": status,
                "fault": mode,
                "time": arrived,
                "connection": connection,
            }
        )

    def describe(self) -> dict[str, Any]:
        return {
            "fault": self.fault.describe(),
            "requests": list(self.requests),
            "connections": len(self.connections),
        }


@dataclass
class Mutation:
    """One mutating request (POST, PUT, PATCH, DELETE) aimed at a cluster.

    Aimed at a cluster means on its API server (``/k8s/{cluster}/...``) or on its objects
    on the control plane (its SyncTarget). It is logged when it arrives, whatever comes
    of it: ``time`` is the wall-clock arrival (``time.time()``, comparable across
    processes), ``status`` the answer's code, None while it is still being served (a
    hung request). The admin API's log never counts.
    """

    time: float
    method: str
    path: str
    status: int | None = None

    def describe(self) -> dict[str, Any]:
        return {"time": self.time, "method": self.method, "path": self.path, "status": self.status}


@dataclass(eq=False)
class ClusterState:
    cluster: SimulatedCluster
    endpoint: EndpointState
    sync_target: dict[str, Any]
    #: The Ready condition after each accepted status write (None when a write removed it).
    health_updates: list[dict[str, Any] | None] = field(default_factory=list)
    #: The last MUTATION_LOG_SIZE mutating requests aimed at this cluster, oldest first.
    mutations: deque[Mutation] = field(default_factory=lambda: deque(maxlen=MUTATION_LOG_SIZE))
    #: How many mutating requests were aimed at this cluster in all (the log may be shorter).
    mutations_total: int = 0
    #: The objects its API server holds (nodes, pods, workloads...).
    objects: ObjectStore = field(default_factory=ObjectStore)
    #: Where the fleet file points for its token, so a rotation can write the new one there.
    token_file: Path | None = None
    #: False once RBAC is revoked: access reviews deny, object calls are 403.
    rbac_allowed: bool = True
    syncer: Syncer = Syncer.HEALTHY

    @classmethod
    def create(cls, cluster: SimulatedCluster) -> ClusterState:
        state = cls(
            cluster=cluster,
            endpoint=EndpointState(token=cluster.token),
            sync_target=new_sync_target(cluster.name, cluster.logical_cluster, cluster.labels),
        )
        for index in range(1, cluster.nodes + 1):
            name = f"{cluster.name}-node-{index}"
            state.objects.put(new_node(name, cluster.node_cpu, cluster.node_memory))
        return state

    def healthy(self) -> bool:
        """Whether its API server serves requests normally right now (no fault in force)."""
        return not self.endpoint.fault.active()

    def mutation(self, request: web.Request) -> Mutation:
        """Log a mutating request as it arrives; the caller sets its status when answered."""
        entry = Mutation(time=time.time(), method=request.method, path=request.path)
        self.mutations.append(entry)
        self.mutations_total += 1
        return entry

    def describe_mutations(self) -> dict[str, Any]:
        return {
            "mutations": [m.describe() for m in self.mutations],
            "mutations_total": self.mutations_total,
        }

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.cluster.name,
            "logical_cluster": self.cluster.logical_cluster,
            **self.endpoint.describe(),
            "health_updates": list(self.health_updates),
            "rbac_allowed": self.rbac_allowed,
            "syncer": self.syncer.value,
            **self.describe_mutations(),
            "sync_target": self.sync_target,
        }


@dataclass(eq=False)
class SimulatorState:
    clusters: dict[str, ClusterState]
    control_plane: EndpointState
    admin_token: str = field(repr=False)
    #: Set when the server shuts down, releasing requests held by ``hang`` and ``slow``.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    #: The control plane's objects (Placements, Migrations) per logical cluster.
    workspaces: defaultdict[str, ObjectStore] = field(
        default_factory=lambda: defaultdict(ObjectStore)
    )

    def sync_target(self, logical_cluster: str, name: str) -> ClusterState | None:
        cluster = self.clusters.get(name)
        if cluster is None or cluster.cluster.logical_cluster != logical_cluster:
            return None
        return cluster
