"""The TMC error vocabulary: error types and severities, as the Avro enums spell them."""

from enum import StrEnum


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
