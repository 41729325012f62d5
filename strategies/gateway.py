"""The ClusterGateway port: how strategies touch clusters and the control plane.

Strategies depend on this protocol only, so the same strategy runs against a real
fleet (``strategies.adapters.http_gateway``) and against the loopback simulator.
It holds just the operations a built-in strategy uses end to end today.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from schemas.errors import TmcRecoveryError


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One answer from a cluster's readiness endpoint (any HTTP answer, healthy or not)."""

    cluster: str
    healthy: bool
    status: int
    reason: str
    detail: str
    latency_s: float

    def summary(self) -> str:
        """``healthy (200 OK, 0.004 s)`` or ``unhealthy (503 Service Unavailable: ...)``."""
        state = "healthy" if self.healthy else "unhealthy"
        detail = f": {self.detail}" if self.detail and not self.healthy else ""
        return f"{state} ({self.status} {self.reason}{detail}, {self.latency_s:.3f} s)"


@dataclass(frozen=True, slots=True)
class ClusterHealth:
    """A cluster's Ready condition as recorded on the control plane.

    ``reason`` is a CamelCase word, as Kubernetes condition reasons are.
    """

    ready: bool
    reason: str
    message: str


class GatewayError(TmcRecoveryError):
    """A gateway operation could not be carried out."""


class UnknownCluster(GatewayError):
    """The fleet description has no such cluster; retrying cannot help."""

    def __init__(self, cluster: str) -> None:
        super().__init__(f"cluster {cluster!r} is not in the fleet description")
        self.cluster = cluster


class ClusterUnreachable(GatewayError):
    """No HTTP answer from an endpoint: connection refused or reset, DNS, TLS, or a timeout."""

    def __init__(self, endpoint: str, detail: str) -> None:
        super().__init__(f"{endpoint} is unreachable: {detail}")
        self.endpoint = endpoint
        self.detail = detail


class BadResponse(GatewayError):
    """An endpoint answered, but not with what the operation needs (e.g. 404, 500, bad JSON)."""

    def __init__(self, endpoint: str, status: int, detail: str) -> None:
        super().__init__(f"{endpoint} answered {status}: {detail}")
        self.endpoint = endpoint
        self.status = status


class ClusterGateway(Protocol):
    """Operations on the fleet. Every call is bounded in time and raises GatewayError subclasses."""

    async def probe(self, cluster: str) -> ProbeResult:
        """Ask the cluster's API server if it is ready; ClusterUnreachable if it can't answer."""
        ...

    async def refresh_connection(self, cluster: str) -> None:
        """Drop the pooled connections (and re-read the credentials) used for ``cluster``."""
        ...

    async def record_health(self, cluster: str, health: ClusterHealth) -> None:
        """Set the cluster's Ready condition on the control plane."""
        ...
