"""Per-type defaults of the Go TMC error model: severity, retryability, suggested actions, and
the mapping from Kubernetes API errors. Kept as data so the tables read like NOTES.md."""

from __future__ import annotations

from types import MappingProxyType

from schemas.records.error_types import ErrorType as T
from schemas.records.error_types import Severity

_SEVERITY = MappingProxyType(
    {
        T.CLUSTER_AUTHENTICATION: Severity.CRITICAL,
        T.MIGRATION_ROLLBACK: Severity.CRITICAL,
        T.INTERNAL_ERROR: Severity.CRITICAL,
        T.CLUSTER_UNREACHABLE: Severity.HIGH,
        T.MIGRATION_FAILURE: Severity.HIGH,
        T.RESOURCE_PERMISSION: Severity.HIGH,
        T.PLACEMENT_CONSTRAINT: Severity.HIGH,
        T.RESOURCE_NOT_FOUND: Severity.LOW,
        T.RESOURCE_VALIDATION: Severity.LOW,
        T.SYNC_TIMEOUT: Severity.LOW,
    }
)

_RETRYABLE = frozenset(
    {
        T.CLUSTER_UNREACHABLE,
        T.CLUSTER_UNAVAILABLE,
        T.SYNC_TIMEOUT,
        T.MIGRATION_TIMEOUT,
        T.AGGREGATION_FAILURE,
        T.PROJECTION_FAILURE,
        T.NETWORK_CONNECTIVITY,
        T.INTERNAL_ERROR,
    }
)

_CONNECTIVITY = ("Check the cluster endpoint and network path", "Retry once it answers")
_ACTIONS: MappingProxyType[T, tuple[str, ...]] = MappingProxyType(
    {
        T.RESOURCE_NOT_FOUND: ("Verify the resource exists", "Re-sync it from the source"),
        T.RESOURCE_CONFLICT: ("Re-read the latest resourceVersion", "Retry the update"),
        T.RESOURCE_VALIDATION: ("Fix the resource spec", "Check the CRD schema version"),
        T.RESOURCE_PERMISSION: ("Check RBAC for the component's identity",),
        T.CLUSTER_UNREACHABLE: _CONNECTIVITY,
        T.CLUSTER_UNAVAILABLE: ("Wait for the API server to recover", "Retry with backoff"),
        T.CLUSTER_AUTHENTICATION: ("Refresh the cluster credentials", "Check certificate expiry"),
        T.CLUSTER_CONFIGURATION: ("Check the cluster's registration and kubeconfig",),
        T.PLACEMENT_CONSTRAINT: ("Relax the placement constraints", "Add a matching cluster"),
        T.PLACEMENT_CAPACITY: ("Add capacity", "Move the workload to a cluster with room"),
        T.PLACEMENT_POLICY: ("Review the placement policy",),
        T.SYNC_FAILURE: ("Re-sync the resource", "Check the syncer's logs"),
        T.SYNC_CONFLICT: ("Resolve the conflicting change", "Re-sync from the source of truth"),
        T.SYNC_TIMEOUT: ("Retry the sync", "Check the cluster's latency"),
        T.MIGRATION_FAILURE: ("Resume the migration", "Roll back if it keeps failing"),
        T.MIGRATION_TIMEOUT: ("Resume the migration with a longer timeout",),
        T.MIGRATION_ROLLBACK: ("Verify the rollback completed", "Escalate to an operator"),
        T.AGGREGATION_FAILURE: ("Retry the aggregation",),
        T.AGGREGATION_CONFLICT: ("Resolve the conflicting status sources",),
        T.PROJECTION_FAILURE: ("Retry the projection",),
        T.PROJECTION_TRANSFORM: ("Fix the transformation rules",),
        T.INTERNAL_ERROR: ("Retry", "Escalate if it persists"),
        T.CONFIGURATION_ERROR: ("Fix the component's configuration",),
        T.NETWORK_CONNECTIVITY: _CONNECTIVITY,
        T.COMPONENT_UNHEALTHY: ("Restart the component", "Check its health endpoint"),
        T.DATABASE: ("Check the database's availability",),
        T.NETWORK_PARTITION: ("Wait for the partition to heal", "Avoid acting on both sides"),
        T.WORKLOAD_FAILURE: ("Inspect the workload's pods and events",),
    }
)

# Kubernetes StatusReason -> (TMC type, retryable), after the Go model's mapping table.
_KUBE_REASONS: MappingProxyType[str, tuple[T, bool]] = MappingProxyType(
    {
        "NotFound": (T.RESOURCE_NOT_FOUND, False),
        "AlreadyExists": (T.RESOURCE_CONFLICT, True),
        "Conflict": (T.RESOURCE_CONFLICT, True),
        "Forbidden": (T.RESOURCE_PERMISSION, False),
        "Unauthorized": (T.CLUSTER_AUTHENTICATION, False),
        "Timeout": (T.SYNC_TIMEOUT, True),
        "ServerTimeout": (T.CLUSTER_UNAVAILABLE, True),
        "ServiceUnavailable": (T.CLUSTER_UNAVAILABLE, True),
        "TooManyRequests": (T.CLUSTER_UNAVAILABLE, True),
        "Internal": (T.INTERNAL_ERROR, True),
    }
)

# The reason the API server sends with each status code when it has nothing more specific.
_KUBE_CODES = MappingProxyType(
    {
        401: "Unauthorized",
        403: "Forbidden",
        404: "NotFound",
        409: "Conflict",
        429: "TooManyRequests",
        500: "Internal",
        503: "ServiceUnavailable",
        504: "Timeout",
    }
)


def default_severity(error_type: T) -> Severity:
    return _SEVERITY.get(error_type, Severity.MEDIUM)


def default_retryable(error_type: T) -> bool:
    return error_type in _RETRYABLE


def suggested_actions(error_type: T) -> tuple[str, ...]:
    """What an operator (or a strategy) should try first for this type of error."""
    return _ACTIONS.get(error_type, ("Inspect the error's context", "Escalate to an operator"))


def classify_kubernetes(status_code: int | None, reason: str | None) -> tuple[T, bool]:
    """TMC type and retryability for a Kubernetes API error; the reason wins over the code."""
    known = reason if reason in _KUBE_REASONS else _KUBE_CODES.get(status_code or 0)
    return _KUBE_REASONS.get(known or "Internal", (T.INTERNAL_ERROR, True))
