"""The TMC error vocabulary: error types and severities, as the Avro enums spell them, and the
names of custom error types (TMCError v3's ``custom_type``), which the closed enum cannot list."""

import re
from enum import StrEnum

from schemas.errors import TmcRecoveryError


class ErrorType(StrEnum):
    """Avro enum ``io.kcp.tmc.ErrorType``; values are the Go model's type names."""

    UNKNOWN = "UNKNOWN"
    RESOURCE_NOT_FOUND = "ResourceNotFound"
    RESOURCE_CONFLICT = "ResourceConflict"
    RESOURCE_VALIDATION = "ResourceValidation"
    RESOURCE_PERMISSION = "ResourcePermission"
    CLUSTER_UNREACHABLE = "ClusterUnreachable"
    CLUSTER_UNAVAILABLE = "ClusterUnavailable"
    CLUSTER_AUTHENTICATION = "ClusterAuthentication"
    CLUSTER_CONFIGURATION = "ClusterConfiguration"
    PLACEMENT_CONSTRAINT = "PlacementConstraint"
    PLACEMENT_CAPACITY = "PlacementCapacity"
    PLACEMENT_POLICY = "PlacementPolicy"
    SYNC_FAILURE = "SyncFailure"
    SYNC_CONFLICT = "SyncConflict"
    SYNC_TIMEOUT = "SyncTimeout"
    MIGRATION_FAILURE = "MigrationFailure"
    MIGRATION_TIMEOUT = "MigrationTimeout"
    MIGRATION_ROLLBACK = "MigrationRollback"
    AGGREGATION_FAILURE = "AggregationFailure"
    AGGREGATION_CONFLICT = "AggregationConflict"
    PROJECTION_FAILURE = "ProjectionFailure"
    PROJECTION_TRANSFORM = "ProjectionTransform"
    INTERNAL_ERROR = "InternalError"
    CONFIGURATION_ERROR = "ConfigurationError"
    NETWORK_CONNECTIVITY = "NetworkConnectivity"
    COMPONENT_UNHEALTHY = "ComponentUnhealthy"
    DATABASE = "Database"
    NETWORK_PARTITION = "NetworkPartition"
    WORKLOAD_FAILURE = "WorkloadFailure"


class Severity(StrEnum):
    """Avro enum ``io.kcp.tmc.Severity``."""

    UNKNOWN = "UNKNOWN"
    LOW = "Low"
    MEDIUM = "Medium"
    HIGH = "High"
    CRITICAL = "Critical"


#: A custom error type's name, as the Go model spells its types: a letter, then letters, digits,
#: '.', '_' or '-'. Bounded, since it becomes a status column, an API filter and a metric label.
_CUSTOM_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,99}")
_SYMBOLS = frozenset(t.value for t in ErrorType)


class BadCustomType(TmcRecoveryError, ValueError):
    """A name that cannot be a custom error type."""

    reason = "bad-custom-type"


def custom_type_problem(name: str) -> str | None:
    """Why ``name`` cannot be a custom error type, or None. A symbol of the enum is refused:
    an error of that type says so in ``type``, which every reader of every version understands."""
    if name in _SYMBOLS:
        return f"{name!r} is an ErrorType symbol, not a custom type"
    if _CUSTOM_TYPE.fullmatch(name) is None:
        return f"custom type {name[:100]!r} is not a letter followed by up to 99 of [A-Za-z0-9._-]"
    return None


def parse_error_type(name: ErrorType | str) -> tuple[ErrorType, str | None]:
    """``(type, custom_type)`` for an error type's name, the way TMCError v3 carries it: an
    ErrorType symbol is itself; any other valid name is custom, with type UNKNOWN (what a v1 or
    v2 reader then sees). Raises :class:`BadCustomType` for a name that can be neither."""
    if isinstance(name, ErrorType):
        return name, None
    if name in _SYMBOLS:
        return ErrorType(name), None
    problem = custom_type_problem(name)
    if problem is not None:
        raise BadCustomType(problem)
    return ErrorType.UNKNOWN, name
