"""What the simulator knows: its clusters, the control plane's SyncTargets, the faults in force,
and a log of every request and accepted health update, for tests and demos to inspect."""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from strategies.simulator.faults import Fault, FaultMode, healthy
from strategies.simulator.kube import new_sync_target

REQUEST_LOG_SIZE = 500


def new_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class SimulatedCluster:
    """A cluster to simulate; by default it demands a random bearer token of its own."""

    name: str
    logical_cluster: str = "root:tmc"
    token: str | None = field(default_factory=new_token, repr=False)


def bearer_matches(request: web.Request, token: str | None) -> bool:
    """Whether the request carries ``token`` (always true for an endpoint without one)."""
    if token is None:
        return True
    presented = request.headers.get("Authorization", "")
    return secrets.compare_digest(presented.encode(), f"Bearer {token}".encode())


@dataclass(eq=False)
class EndpointState:
    """An API server (a cluster's, or the control plane): its token, fault and request log."""

    token: str | None = field(repr=False)
    fault: Fault = field(default_factory=healthy)
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=REQUEST_LOG_SIZE))

    def record(self, request: web.Request, status: int, mode: FaultMode) -> None:
        self.requests.append(
            {"method": request.method, "path": request.path, "status": status, "fault": mode}
        )

    def describe(self) -> dict[str, Any]:
        return {"fault": self.fault.describe(), "requests": list(self.requests)}


@dataclass(eq=False)
class ClusterState:
    cluster: SimulatedCluster
    endpoint: EndpointState
    sync_target: dict[str, Any]
    #: The Ready condition after each accepted status write (None when a write removed it).
    health_updates: list[dict[str, Any] | None] = field(default_factory=list)

    @classmethod
    def create(cls, cluster: SimulatedCluster) -> ClusterState:
        return cls(
            cluster=cluster,
            endpoint=EndpointState(token=cluster.token),
            sync_target=new_sync_target(cluster.name, cluster.logical_cluster),
        )

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.cluster.name,
            "logical_cluster": self.cluster.logical_cluster,
            **self.endpoint.describe(),
            "health_updates": list(self.health_updates),
            "sync_target": self.sync_target,
        }


@dataclass(eq=False)
class SimulatorState:
    clusters: dict[str, ClusterState]
    control_plane: EndpointState
    admin_token: str = field(repr=False)
    #: Set when the server shuts down, releasing requests held by ``hang`` and ``slow``.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def sync_target(self, logical_cluster: str, name: str) -> ClusterState | None:
        cluster = self.clusters.get(name)
        if cluster is None or cluster.cluster.logical_cluster != logical_cluster:
            return None
        return cluster
