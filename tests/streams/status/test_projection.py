"""The status table projection: idempotent, never backwards, counts every transition once."""

import dataclasses
from datetime import UTC, datetime, timedelta

from schemas.records import (
    ErrorType,
    RecoveryContext,
    RecoveryOutcome,
    RecoveryResult,
    RecoveryState,
    StateTransition,
    TMCError,
)
from streams.execution import lifecycle
from streams.status.projection import project_row, project_summary, with_merges
from streams.testing.harness import unreachable
from streams.triage import records

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
S = RecoveryState


def _pending(recovery_id: str = "ClusterConnectivity-1") -> RecoveryResult:
    error = (
        TMCError.build(ErrorType.CLUSTER_UNREACHABLE, "syncer", "heartbeat")
        .with_cluster("edge-1")
        .build()
    )
    return RecoveryResult(
        id=recovery_id,
        target="edge-1",
        error=error,
        strategy="ClusterConnectivity",
        context=RecoveryContext(attempt=1, max_attempts=3, cluster_name="edge-1"),
        state=S.PENDING,
        start_time=T0,
        transitions=(StateTransition(S.PENDING, T0, 1),),
    )


def _then(row: RecoveryResult, state: RecoveryState, reason: str | None = None) -> RecoveryResult:
    at = T0 + timedelta(seconds=len(row.transitions))
    transition = StateTransition(state, at, row.context.attempt, reason)
    end = at if state.is_terminal else None
    return dataclasses.replace(
        row, state=state, end_time=end, transitions=(*row.transitions, transition)
    )


def test_rows_move_forward_and_ignore_stale_snapshots() -> None:
    pending = _pending()
    running = _then(pending, S.IN_PROGRESS)
    done = _then(running, S.COMPLETED)
    row = project_row(None, pending)
    row = project_row(row, running)
    row = project_row(row, done)
    assert row == done
    assert project_row(row, running) == done, "a late InProgress never reopens a Completed row"
    assert project_row(row, done) == done, "a redelivered record changes nothing"


def test_the_first_terminal_state_is_the_only_one() -> None:
    running = _then(_pending(), S.IN_PROGRESS)
    cancelled = _then(_pending(), S.CANCELLED, "operator")
    completed = _then(running, S.COMPLETED)
    assert project_row(cancelled, completed) == cancelled


def test_merged_ids_are_a_union_even_from_stale_snapshots() -> None:
    pending = _pending()
    merged = dataclasses.replace(pending, merged_error_ids=("e2",), merged_count=1)
    running = _then(pending, S.IN_PROGRESS)
    row = project_row(project_row(None, merged), running)
    assert row.state == S.IN_PROGRESS
    assert row.merged_error_ids == ("e2",)
    late = dataclasses.replace(pending, merged_error_ids=("e3", "e2"), merged_count=2)
    row = project_row(row, late)
    assert row.state == S.IN_PROGRESS
    assert row.merged_error_ids == ("e2", "e3")
    assert row.merged_count == 2


def test_a_newer_snapshot_with_no_merges_to_add_is_the_row_itself() -> None:
    """The same object, so the results codec's memo still has its bytes to write."""
    pending = _pending()
    running = _then(pending, RecoveryState.IN_PROGRESS)
    assert project_row(pending, running) is running
    assert with_merges(running, (), 0) is running
    merged = with_merges(running, ("e1",), 1)
    assert merged.merged_error_ids == ("e1",)
    assert with_merges(merged, ("e1",), 1) is merged


def test_cluster_summary_tracks_active_counts_and_last_outcome() -> None:
    pending = _pending()
    failed = _then(_then(pending, S.IN_PROGRESS), S.FAILED, "probe refused")
    scheduled = _then(failed, S.RETRY_SCHEDULED)
    reason = "ClusterConnectivity recovery failed after 3 attempts"
    escalated = _then(scheduled, S.ESCALATED, reason)

    summary = project_summary(None, None, pending, T0)
    assert summary.cluster_name == "edge-1"
    assert summary.counts.started == 1
    assert [a.recovery_id for a in summary.active_recoveries] == [pending.id]

    summary = project_summary(summary, pending, scheduled, T0)
    assert summary.counts.failed == 1
    assert summary.active_recoveries[0].state == S.RETRY_SCHEDULED

    summary = project_summary(summary, scheduled, escalated, T0)
    assert summary.active_recoveries == ()
    assert summary.counts.escalated == 1
    outcome = summary.last_outcomes["ClusterConnectivity"]
    assert outcome.state == S.ESCALATED
    assert outcome.message == reason

    again = project_summary(summary, escalated, escalated, T0)
    assert again.counts == summary.counts, "a redelivered record is not counted twice"


def test_ending_of_a_recovery_resumed_from_a_stale_row_is_kept() -> None:
    """The new owner resumes from the table, which can lag the results topic: records the old
    owner published after its last projection (it stops consuming before it releases its
    recoveries, or it was killed) are projected only after the resume. The resumed attempt's
    ending then has fewer transitions than the row, and "more transitions is newer" drops it:
    the row stays RetryScheduled with nobody driving it (and its target's dedup claim stays
    active, so later errors merge into a dead recovery). The ending must win.
    """
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    def at(seconds: float) -> datetime:
        return t0 + timedelta(seconds=seconds)

    error = unreachable("edge-1")
    pending = records.pending("CC-1", "ClusterConnectivity", 5, "edge-1", error, "src", at(0))
    in_progress = lifecycle.start_attempt(pending, 1, at(1))  # the row the new owner resumes
    failure = lifecycle.AttemptFailure(S.FAILED, "still unreachable")
    failed = lifecycle.fail_attempt(in_progress, failure, at(3))  # published, not projected
    scheduled = lifecycle.after_failure(failed, failure, at(3), 1.0)  # published, not projected
    ok = RecoveryOutcome(success=True, message="cluster edge-1 is ready")
    resumed = lifecycle.complete(in_progress, ok, at(5))  # the new owner re-ran attempt 1

    row = None
    for record in (pending, in_progress, failed, scheduled, resumed):  # results topic order
        row = project_row(row, record)
    assert row is not None
    assert row.state is S.COMPLETED
    assert [t.state for t in row.transitions if t.state.is_terminal] == [S.COMPLETED]
