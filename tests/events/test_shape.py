"""Which results records are Events, in Kubernetes Event shape with the Go design's words."""

import dataclasses
from datetime import UTC, datetime, timedelta

from schemas.codec import RecordCodec
from schemas.records import (
    ErrorType,
    EventType,
    ObjectReference,
    RecoveryContext,
    RecoveryEvent,
    RecoveryOutcome,
    RecoveryResult,
    RecoveryState,
    StateTransition,
    TMCError,
)
from streams.events.shape import event_of
from streams.execution import lifecycle

T0 = datetime(2026, 12, 1, 15, 0, 0, tzinfo=UTC)


def pending(
    error_type: ErrorType = ErrorType.CLUSTER_UNREACHABLE,
    strategy: str = "ClusterConnectivity",
    cluster: str | None = "edge-1",
) -> RecoveryResult:
    builder = TMCError.build(error_type, "syncer", "heartbeat").with_message("lost")
    if cluster is not None:
        builder.with_cluster(cluster, "root:tmc")
    return RecoveryResult(
        id=f"{strategy}-0123",
        target=cluster or "syncer",
        error=builder.build(),
        strategy=strategy,
        context=RecoveryContext(attempt=0, max_attempts=3, cluster_name=cluster),
        state=RecoveryState.PENDING,
        start_time=T0,
        transitions=(StateTransition(RecoveryState.PENDING, T0, 0),),
    )


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_the_first_attempt_is_recovery_started_in_the_go_designs_words() -> None:
    started = lifecycle.start_attempt(pending(), 1, at(1))
    event = event_of(started, "w1")
    assert event is not None
    assert (event.reason, event.type, event.count) == ("RecoveryStarted", EventType.NORMAL, 1)
    assert event.message == "Started ClusterConnectivity recovery for cluster unreachable error"
    assert event.involved_object == ObjectReference(
        kind="SyncTarget", name="edge-1", api_version="tmc.kcp.io/v1alpha1"
    )
    assert event.first_timestamp == event.last_timestamp == at(1)
    assert (event.source.component, event.source.host) == ("tmc-recovery", "w1")
    assert event.metadata.name.startswith("edge-1.")
    assert event.metadata.annotations["tmc.kcp.io/recovery-id"] == "ClusterConnectivity-0123"
    assert RecordCodec(RecoveryEvent).decode(RecordCodec(RecoveryEvent).encode(event)) == event


def test_a_custom_error_type_is_named_by_its_custom_type() -> None:
    error = TMCError.build("CustomApplication", "my-application", "run").with_cluster("edge-1")
    custom = dataclasses.replace(pending(strategy="AppRestart"), error=error.build())
    event = event_of(lifecycle.start_attempt(custom, 1, at(1)), "w1")
    assert event is not None
    assert event.message == "Started AppRestart recovery for custom application error"
    assert event.metadata.annotations["tmc.kcp.io/error-type"] == "CustomApplication"


def test_retries_and_intermediate_states_are_no_events() -> None:
    first = lifecycle.start_attempt(pending(), 1, at(1))
    failure = lifecycle.AttemptFailure(RecoveryState.FAILED, "readyz 503")
    failed = lifecycle.fail_attempt(first, failure, at(2))
    scheduled = lifecycle.after_failure(failed, failure, at(2), 1.0)
    second = lifecycle.start_attempt(scheduled, 2, at(3))
    assert [event_of(r, "w1") for r in (pending(), failed, scheduled, second)] == [None] * 4


def test_escalated_is_recovery_failed_a_warning_with_the_seeds_sentence() -> None:
    record = lifecycle.start_attempt(pending(ErrorType.MIGRATION_FAILURE, "Migration"), 3, at(9))
    failure = lifecycle.AttemptFailure(RecoveryState.FAILED, "rollback required")
    escalated = lifecycle.after_failure(record, failure, at(10), 1.0)
    event = event_of(escalated, "w1")
    assert event is not None
    assert (event.reason, event.type) == ("RecoveryFailed", EventType.WARNING)
    assert event.message == "Migration recovery failed after 3 attempts: rollback required"
    assert event.last_timestamp == at(10)


def test_completed_and_cancelled_have_reasons_of_their_own() -> None:
    running = lifecycle.start_attempt(pending(ErrorType.SYNC_FAILURE, "Sync"), 1, at(1))
    completed = event_of(lifecycle.complete(running, RecoveryOutcome(True, "synced"), at(5)), "w")
    cancelled = event_of(lifecycle.cancel(running, "cancelled by alice: window", at(5)), "w")
    assert completed is not None
    assert cancelled is not None
    assert (completed.reason, completed.type) == ("RecoveryCompleted", EventType.NORMAL)
    assert completed.message == "Completed Sync recovery for sync failure error"
    assert (cancelled.reason, cancelled.type) == ("RecoveryCancelled", EventType.NORMAL)
    assert cancelled.message == "Cancelled Sync recovery for sync failure error: " + (
        "cancelled by alice: window"
    )


def test_an_error_without_a_cluster_involves_its_component() -> None:
    started = lifecycle.start_attempt(pending(cluster=None, strategy="Generic"), 1, at(1))
    event = event_of(started, "w1")
    assert event is not None
    assert event.involved_object == ObjectReference(kind="Component", name="syncer")
