"""The ClusterGateway port: how strategies touch clusters and the control plane.

Strategies depend on this protocol only, so the same strategy runs against a real
fleet (``strategies.adapters.http_gateway``) and against the loopback simulator.
It holds just the operations the built-in strategies use. Objects travel as the
Kubernetes JSON they are (``KubeObject``), so a three-way merge sees every field,
including ones this code has never heard of.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from schemas.errors import TmcRecoveryError
from schemas.records import RecoveryEvent

#: An object as the API server serves it (``apiVersion``, ``kind``, ``metadata``, ...).
KubeObject = dict[str, Any]


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


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """Where an object lives on an API server: ``api`` is ``v1`` (core) or ``group/version``,
    ``resource`` the lower-case plural; no ``namespace`` for cluster-scoped objects."""

    api: str
    resource: str
    name: str
    namespace: str | None = None

    def path(self) -> str:
        """``/api/v1/namespaces/ns/configmaps/x`` or ``/apis/apps/v1/...``"""
        root = f"/api/{self.api}" if "/" not in self.api else f"/apis/{self.api}"
        scope = f"/namespaces/{self.namespace}" if self.namespace else ""
        return f"{root}{scope}/{self.resource}/{self.name}"

    def describe(self) -> str:
        """``deployments.apps shop/web``, the way kubectl names objects in messages."""
        group = self.api.rpartition("/")[0]
        kind = f"{self.resource}.{group}" if group else self.resource
        return f"{kind} {self.namespace}/{self.name}" if self.namespace else f"{kind} {self.name}"


@dataclass(frozen=True, slots=True)
class Workspace:
    """A kcp logical cluster on the control plane (paths ``/clusters/<logical-cluster>/...``)."""

    logical_cluster: str


#: Where an object lives: a workload cluster by name, or a workspace on the control plane.
Location = str | Workspace


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a credential refresh found; ``fingerprint`` identifies the token, never shows it."""

    source: str
    fingerprint: str
    rotated: bool


@dataclass(frozen=True, slots=True)
class AccessReview:
    """A SelfSubjectAccessReview's verdict for one verb on one resource."""

    allowed: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Resources:
    """CPU in millicores and memory in bytes, the two quantities placement weighs."""

    cpu_milli: int = 0
    memory_bytes: int = 0

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.cpu_milli - other.cpu_milli, self.memory_bytes - other.memory_bytes)

    def fits(self, need: Resources) -> bool:
        return self.cpu_milli >= need.cpu_milli and self.memory_bytes >= need.memory_bytes

    def describe(self) -> str:
        return f"{self.cpu_milli}m CPU, {self.memory_bytes // 2**20}Mi memory"


@dataclass(frozen=True, slots=True)
class Capacity:
    """A cluster's nodes' allocatable resources and what its running pods request."""

    allocatable: Resources
    requested: Resources

    @property
    def free(self) -> Resources:
        return self.allocatable - self.requested


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    """A SyncTarget of a logical cluster: its name, labels and recorded readiness."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ready: bool = True


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """The syncer's ``Synced`` condition on a SyncTarget, and the last re-sync it has seen."""

    synced: bool
    reason: str
    message: str
    observed_resync: str | None


@dataclass(frozen=True, slots=True)
class Migration:
    """A workload migration between clusters: its phase and the checkpoint it reached.

    ``generation`` counts spec changes (a resume or rollback request is one); the controller
    has acted on the latest when ``observed_generation`` has caught up with it."""

    name: str
    source: str
    target: str
    phase: str
    checkpoint: str | None
    message: str
    generation: int = 1
    observed_generation: int | None = None

    @property
    def settled(self) -> bool:
        """Whether the controller has acted on the latest request."""
        return self.observed_generation is not None and self.observed_generation >= self.generation


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


class Unauthorized(BadResponse):
    """401: the credentials were refused (expired or rotated token)."""


class Forbidden(BadResponse):
    """403: authenticated, but RBAC does not allow the operation."""


class NotFound(BadResponse):
    """404: no such object (or API)."""


class Conflict(BadResponse):
    """409: the object changed since it was read (a stale resourceVersion)."""


class Throttled(GatewayError):
    """The API server (a 429) or our own rate limit for it asks to wait past the deadline of
    the call; retrying later may succeed."""

    def __init__(self, endpoint: str, wait_s: float, detail: str) -> None:
        super().__init__(f"{endpoint} is throttling us: {detail}")
        self.endpoint = endpoint
        self.wait_s = wait_s


_DEADLINE: ContextVar[float | None] = ContextVar("tmc_gateway_deadline", default=None)


@contextmanager
def calls_until(deadline: float) -> Iterator[None]:
    """Gateway calls made inside may wait for their turn (a rate limit, a 429's Retry-After)
    until ``deadline`` (``time.monotonic()``), and no longer: the executor wraps each attempt
    in its timeout, so a throttled call fails as ``Throttled`` instead of being cut off."""
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def call_deadline(default_s: float) -> float:
    """The deadline of the calls in progress; ``default_s`` from now outside an attempt."""
    deadline = _DEADLINE.get()
    return time.monotonic() + default_s if deadline is None else deadline


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

    async def recorded_health(self, cluster: str) -> ClusterHealth | None:
        """The cluster's Ready condition as the control plane holds it; None if never set."""
        ...

    async def record_event(self, cluster: str, event: RecoveryEvent) -> None:
        """Create ``event`` (a core/v1 Event, in its namespace) where the cluster's SyncTarget
        lives, on the control plane; an Event of that name already there counts as written."""
        ...

    async def refresh_credentials(self, cluster: str) -> Credentials:
        """Read the cluster's credentials afresh (token file, env or exec plugin) and use them."""
        ...

    async def review_access(
        self, cluster: str, verb: str, resource: str, group: str = "", namespace: str | None = None
    ) -> AccessReview:
        """Whether our identity may ``verb`` the resource: an authenticated call (SSAR)."""
        ...

    async def get_object(self, where: Location, ref: ObjectRef) -> KubeObject:
        """The object as it is now, with its ``metadata.resourceVersion``."""
        ...

    async def update_object(self, where: Location, ref: ObjectRef, obj: KubeObject) -> KubeObject:
        """Replace the object; its ``metadata.resourceVersion`` must be current, else Conflict."""
        ...

    async def read_capacity(self, cluster: str) -> Capacity:
        """Allocatable resources of the cluster's nodes, and what its live pods request."""
        ...

    async def list_clusters(self, logical_cluster: str) -> list[ClusterInfo]:
        """The SyncTargets of a logical cluster, with labels and readiness."""
        ...

    async def trigger_resync(self, cluster: str, request_id: str) -> None:
        """Ask the cluster's syncer to re-sync everything (idempotent per ``request_id``)."""
        ...

    async def sync_status(self, cluster: str) -> SyncStatus:
        """What the cluster's syncer reports on its SyncTarget."""
        ...

    async def get_migration(self, logical_cluster: str, name: str) -> Migration:
        """A migration's phase and checkpoint."""
        ...

    async def resume_migration(
        self, logical_cluster: str, name: str, checkpoint: str, request_id: str
    ) -> Migration:
        """Ask the migration controller to continue from ``checkpoint``; the migration as
        written (a new ``request_id`` makes a new request of a repeated one)."""
        ...

    async def rollback_migration(
        self, logical_cluster: str, name: str, request_id: str
    ) -> Migration:
        """Ask the migration controller to move the workload back; the migration as written."""
        ...
