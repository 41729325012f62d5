"""The TMC error model: builder, per-type defaults, Kubernetes mapping, key."""

from datetime import UTC, datetime

import pytest

from schemas.records import (
    ErrorType,
    GroupVersionKind,
    ResourceRef,
    Severity,
    TMCError,
    suggested_actions,
)

T = ErrorType


def test_builder_sets_every_field_of_the_go_model() -> None:
    gvk = GroupVersionKind(group="apps", version="v1", kind="Deployment")
    error = (
        TMCError.build(T.CLUSTER_UNREACHABLE, "syncer", "heartbeat")
        .with_message("no heartbeat for 30s")
        .with_cluster("edge-1", "root:edge")
        .with_resource(gvk, "shop", "web")
        .with_context("attempts", 3)
        .with_context("endpoint", "https://edge-1:6443")
        .with_severity(Severity.CRITICAL)
        .with_retryable(False)
        .with_cause(ConnectionRefusedError("connection refused"))
        .with_trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
        .build()
    )
    assert error.type is T.CLUSTER_UNREACHABLE
    assert (error.component, error.operation) == ("syncer", "heartbeat")
    assert error.message == "no heartbeat for 30s"
    assert (error.cluster_name, error.logical_cluster) == ("edge-1", "root:edge")
    assert error.resource == ResourceRef(gvk=gvk, namespace="shop", name="web")
    assert error.context == {"attempts": "3", "endpoint": "https://edge-1:6443"}
    assert error.severity is Severity.CRITICAL
    assert not error.is_retryable()
    assert error.cause == "ConnectionRefusedError: connection refused"
    assert error.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert error.event_id is None
    assert error.emitter is None
    assert error.timestamp.tzinfo is UTC
    assert error.timestamp.microsecond % 1000 == 0
    assert abs((datetime.now(UTC) - error.timestamp).total_seconds()) < 5


def test_a_built_error_does_not_change_when_the_builder_goes_on() -> None:
    builder = TMCError.build(T.SYNC_FAILURE, "syncer", "sync").with_context("a", "1")
    first = builder.build()
    builder.with_context("b", "2").with_message("later")
    assert first.context == {"a": "1"}
    assert first.message == "SyncFailure"


def test_message_falls_back_to_the_cause() -> None:
    error = TMCError.build(T.DATABASE, "store", "write").with_cause("disk full").build()
    assert error.message == "disk full"


CRITICAL = {T.CLUSTER_AUTHENTICATION, T.MIGRATION_ROLLBACK, T.INTERNAL_ERROR}
HIGH = {T.CLUSTER_UNREACHABLE, T.MIGRATION_FAILURE, T.RESOURCE_PERMISSION, T.PLACEMENT_CONSTRAINT}
LOW = {T.RESOURCE_NOT_FOUND, T.RESOURCE_VALIDATION, T.SYNC_TIMEOUT}
RETRYABLE = {
    T.CLUSTER_UNREACHABLE,
    T.CLUSTER_UNAVAILABLE,
    T.SYNC_TIMEOUT,
    T.MIGRATION_TIMEOUT,
    T.AGGREGATION_FAILURE,
    T.PROJECTION_FAILURE,
    T.NETWORK_CONNECTIVITY,
    T.INTERNAL_ERROR,
}


@pytest.mark.parametrize("error_type", list(ErrorType))
def test_default_severity_and_retryability_follow_the_go_tables(error_type: ErrorType) -> None:
    error = TMCError.build(error_type, "c", "o").build()
    expected = (
        Severity.CRITICAL
        if error_type in CRITICAL
        else Severity.HIGH
        if error_type in HIGH
        else Severity.LOW
        if error_type in LOW
        else Severity.MEDIUM
    )
    assert error.severity is expected
    assert error.is_retryable() is (error_type in RETRYABLE)


@pytest.mark.parametrize("error_type", list(ErrorType))
def test_every_type_suggests_recovery_actions(error_type: ErrorType) -> None:
    actions = suggested_actions(error_type)
    assert actions
    assert all(isinstance(a, str) and a for a in actions)
    assert TMCError.build(error_type, "c", "o").build().recovery_hint == actions


def test_connectivity_and_auth_suggest_different_things() -> None:
    assert suggested_actions(T.CLUSTER_AUTHENTICATION) != suggested_actions(T.CLUSTER_UNREACHABLE)
    assert any("credential" in a for a in suggested_actions(T.CLUSTER_AUTHENTICATION))


@pytest.mark.parametrize(
    ("code", "reason", "error_type", "retryable"),
    [
        (404, "NotFound", T.RESOURCE_NOT_FOUND, False),
        (409, "AlreadyExists", T.RESOURCE_CONFLICT, True),
        (409, "Conflict", T.RESOURCE_CONFLICT, True),
        (403, "Forbidden", T.RESOURCE_PERMISSION, False),
        (401, "Unauthorized", T.CLUSTER_AUTHENTICATION, False),
        (504, "Timeout", T.SYNC_TIMEOUT, True),
        (500, "ServerTimeout", T.CLUSTER_UNAVAILABLE, True),
        (503, "ServiceUnavailable", T.CLUSTER_UNAVAILABLE, True),
        (429, "TooManyRequests", T.CLUSTER_UNAVAILABLE, True),
        (500, "Internal", T.INTERNAL_ERROR, True),
        (422, "Invalid", T.INTERNAL_ERROR, True),  # "other" in the Go table
        # Only a status code: the reason the API server sends with it.
        (404, None, T.RESOURCE_NOT_FOUND, False),
        (409, None, T.RESOURCE_CONFLICT, True),
        (403, None, T.RESOURCE_PERMISSION, False),
        (401, None, T.CLUSTER_AUTHENTICATION, False),
        (429, None, T.CLUSTER_UNAVAILABLE, True),
        (503, None, T.CLUSTER_UNAVAILABLE, True),
        (504, None, T.SYNC_TIMEOUT, True),
        (500, None, T.INTERNAL_ERROR, True),
        (418, None, T.INTERNAL_ERROR, True),
        # Only a reason.
        (None, "Forbidden", T.RESOURCE_PERMISSION, False),
        (None, "ServerTimeout", T.CLUSTER_UNAVAILABLE, True),
        (None, None, T.INTERNAL_ERROR, True),
    ],
)
def test_kubernetes_errors_map_to_tmc_types(
    code: int | None, reason: str | None, error_type: ErrorType, retryable: bool
) -> None:
    error = TMCError.from_kubernetes("syncer", "update", status_code=code, reason=reason).build()
    assert (error.type, error.is_retryable()) == (error_type, retryable)


def test_kubernetes_error_keeps_the_code_and_reason_in_context() -> None:
    error = (
        TMCError.from_kubernetes("syncer", "update", status_code=409, reason="Conflict")
        .with_cluster("edge-2")
        .build()
    )
    assert error.context == {"kubernetes.code": "409", "kubernetes.reason": "Conflict"}
    assert "409 Conflict" in error.message
    assert error.severity is Severity.MEDIUM  # the type's default still applies


def test_kafka_key_is_the_cluster_or_else_the_component() -> None:
    with_cluster = TMCError.build(T.SYNC_FAILURE, "syncer", "sync").with_cluster("édge-1").build()
    without = TMCError.build(T.COMPONENT_UNHEALTHY, "placement", "reconcile").build()
    assert with_cluster.kafka_key() == "édge-1".encode()
    assert without.kafka_key() == b"placement"
