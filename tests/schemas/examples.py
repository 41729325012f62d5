"""One fully populated record of every type, for round-trip tests."""

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.records import (
    ActiveRecovery,
    ClusterStatus,
    EmitterIdentity,
    ErrorType,
    EventMeta,
    EventSource,
    EventType,
    GroupVersionKind,
    HealthCheck,
    HealthReport,
    HealthStatus,
    ObjectReference,
    RecoveryContext,
    RecoveryCounts,
    RecoveryEvent,
    RecoveryOutcome,
    RecoveryResult,
    RecoveryState,
    Silence,
    SilenceMatchers,
    StateTransition,
    StrategyOutcome,
    TMCError,
)

T0 = datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)


def tmc_error(cluster: str | None = "edge-1", **changes: Any) -> TMCError:
    builder = (
        TMCError.build(ErrorType.CLUSTER_UNREACHABLE, "syncer", "heartbeat")
        .with_message("no heartbeat for 30s")
        .with_cause(TimeoutError("dial tcp 10.0.0.7:6443: i/o timeout"))
        .with_resource(GroupVersionKind("v1", "Deployment", "apps"), "shop", "web")
        .with_context("attempt", 2)
        .with_timestamp(T0)
        .with_trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
    )
    if cluster is not None:
        builder.with_cluster(cluster, "root:edge")
    error = builder.build()
    identity = EmitterIdentity(name="syncer", instance="node-3:4242", version="1.2.3")
    fields: dict[str, Any] = {"event_id": "7c5c8b1e-64a5-4c39-9d1c-0e9d7f5a1b2c"}
    fields["emitter"] = identity
    fields.update(changes)
    return dataclasses.replace(error, **fields)


def custom_error(cluster: str = "edge-1") -> TMCError:
    """The Go design's own example of a custom type (v3): CustomApplication from my-application."""
    return (
        TMCError.build("CustomApplication", "my-application", "reconcile")
        .with_message("the application's cache is stale")
        .with_cluster(cluster, "root:edge")
        .with_retryable(True)
        .with_timestamp(T0)
        .build()
    )


def recovery_result(
    cluster: str = "edge-1",
    *,
    strategy: str = "ClusterConnectivity",
    state: RecoveryState = RecoveryState.COMPLETED,
    logical_cluster: str = "root:edge",
    recovery_id: str = "rec-1",
) -> RecoveryResult:
    return RecoveryResult(
        id=recovery_id,
        target=cluster,
        error=tmc_error(cluster),
        strategy=strategy,
        context=RecoveryContext(
            attempt=2,
            max_attempts=5,
            cluster_name=cluster,
            logical_cluster=logical_cluster,
            resource_context={"namespace": "shop"},
            metadata={"worker": "w-1"},
        ),
        state=state,
        start_time=T0,
        end_time=T0 + timedelta(seconds=42),
        retry_due_at=T0 + timedelta(seconds=10),
        result=RecoveryOutcome(
            success=state is RecoveryState.COMPLETED,
            message="endpoint answers again",
            actions=("probed /readyz", "refreshed credentials"),
            next_steps=("resume sync",),
            error=None,
            metrics={"probe_ms": 12.5},
        ),
        merged_error_ids=("e-2", "e-3"),
        merged_count=7,
        transitions=(
            StateTransition(RecoveryState.PENDING, T0, 0),
            StateTransition(RecoveryState.IN_PROGRESS, T0 + timedelta(seconds=1), 1, "picked up"),
            StateTransition(state, T0 + timedelta(seconds=42), 2),
        ),
    )


def all_records() -> list[Any]:
    return [
        tmc_error(),
        tmc_error(cluster=None, event_id=None, emitter=None, resource=None, trace_id=None),
        recovery_result(),
        ClusterStatus(
            cluster_name="edge-1",
            updated_at=T0,
            counts=RecoveryCounts(started=3, completed=2, escalated=1, merged_errors=9),
            active_recoveries=(
                ActiveRecovery("rec-2", "Generic", "edge-1", RecoveryState.RETRY_SCHEDULED, T0),
            ),
            last_outcomes={
                "ClusterConnectivity": StrategyOutcome("rec-1", RecoveryState.COMPLETED, T0, "ok")
            },
        ),
        RecoveryEvent(
            metadata=EventMeta("rec-1.started", labels={"tmc.kcp.io/recovery-id": "rec-1"}),
            involved_object=ObjectReference("SyncTarget", "edge-1", None, "workload.kcp.io/v1"),
            reason="RecoveryStarted",
            message="ClusterConnectivity started for edge-1",
            type=EventType.NORMAL,
            first_timestamp=T0,
            last_timestamp=T0 + timedelta(minutes=3),
            source=EventSource("tmc-recovery", "worker-0"),
            count=4,
        ),
        HealthReport(
            component="syncer",
            status=HealthStatus.DEGRADED,
            observed_at=T0,
            instance="node-3:4242",
            cluster_name="edge-1",
            message="slow API server",
            checks=(HealthCheck("apiserver", HealthStatus.DEGRADED, "p99 2.1s"),),
            details={"p99_ms": "2100"},
        ),
        Silence(
            id="sil-1",
            matchers=SilenceMatchers(cluster_name="edge-1", error_type=ErrorType.SYNC_TIMEOUT),
            reason="planned maintenance",
            created_by="alice",
            created_at=T0,
            expires_at=T0 + timedelta(hours=2),
        ),
        custom_error(),
        dataclasses.replace(
            recovery_result(state=RecoveryState.AWAITING_APPROVAL), error=custom_error()
        ),
    ]
