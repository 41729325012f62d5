"""Resuming records read back from the status table after a crash or a rebalance."""

import logging
from datetime import timedelta

import pytest

from schemas.records import RecoveryState, utc_now
from strategies.base import RecoveryFailed
from tests.execution.conftest import MakeExecutor
from tests.execution.support import OK, Call, Recorder, Scripted, recovery

S = RecoveryState


async def test_in_progress_reruns_the_same_attempt(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    strategy = Scripted(OK)
    await make_executor(strategy).submit(recovery("r1", state=S.IN_PROGRESS, attempt=2))

    done = await recorder.ended("r1")

    assert strategy.calls == [Call("r1", 2, False)]
    assert recorder.states("r1") == [S.COMPLETED]  # InProgress is already in the table
    assert [(t.state, t.attempt) for t in done.transitions] == [
        (S.PENDING, 0),
        (S.IN_PROGRESS, 2),
        (S.COMPLETED, 2),
    ]


async def test_in_progress_on_the_last_attempt_escalates_when_it_fails(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    strategy = Scripted(RecoveryFailed("still unreachable"))
    resumed = recovery("r1", state=S.IN_PROGRESS, attempt=3, max_attempts=3)
    await make_executor(strategy).submit(resumed)

    done = await recorder.ended("r1")

    assert recorder.states("r1") == [S.FAILED, S.ESCALATED]
    assert (
        done.transitions[-1].reason == "Probe recovery failed after 3 attempts: still unreachable"
    )


async def test_retry_scheduled_waits_for_its_due_time_without_a_slot(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    strategy = Scripted(OK)
    executor = make_executor(strategy, max_concurrent=1)
    due = utc_now() + timedelta(milliseconds=300)
    scheduled = recovery("a1", state=S.RETRY_SCHEDULED, attempt=1, retry_due_at=due)

    await executor.submit(scheduled)
    await executor.submit(recovery("b1", target="cluster-b"))
    started = await recorder.reached("a1", S.IN_PROGRESS)
    await recorder.ended("a1")

    events = recorder.events()
    assert events.index(("b1", S.COMPLETED)) < events.index(("a1", S.IN_PROGRESS))
    assert started.transitions[-1].at >= due - timedelta(milliseconds=20)  # clock granularity
    assert started.retry_due_at is None
    assert strategy.calls[-1] == Call("a1", 2, False)


async def test_overdue_retry_runs_at_once(make_executor: MakeExecutor, recorder: Recorder) -> None:
    overdue = utc_now() - timedelta(minutes=5)
    scheduled = recovery("a1", state=S.RETRY_SCHEDULED, attempt=2, retry_due_at=overdue)
    await make_executor(Scripted(OK)).submit(scheduled)

    done = await recorder.ended("a1")

    assert recorder.states("a1") == [S.IN_PROGRESS, S.COMPLETED]
    assert done.context.attempt == 3


@pytest.mark.parametrize(
    ("state", "attempt", "reason", "published", "escalation"),
    [
        (S.FAILED, 1, "api down", [S.RETRY_SCHEDULED, S.IN_PROGRESS, S.COMPLETED], None),
        (
            S.FAILED,
            1,
            "not retryable: rollback required",
            [S.ESCALATED],
            "Probe recovery failed after 1 attempt (not retryable): rollback required",
        ),
        (
            S.TIMEOUT,
            3,
            "timed out after 5s",
            [S.ESCALATED],
            "Probe recovery failed after 3 attempts: timed out after 5s",
        ),
    ],
)
async def test_a_failure_recorded_before_a_crash_is_settled(
    make_executor: MakeExecutor,
    recorder: Recorder,
    state: RecoveryState,
    attempt: int,
    reason: str,
    published: list[RecoveryState],
    escalation: str | None,
) -> None:
    crashed = recovery("r1", state=state, attempt=attempt, max_attempts=3, reason=reason)
    await make_executor(Scripted(OK)).submit(crashed)

    done = await recorder.ended("r1")

    assert recorder.states("r1") == published
    if escalation is not None:
        assert done.transitions[-1].reason == escalation


async def test_an_unknown_state_is_left_alone(
    make_executor: MakeExecutor, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    executor = make_executor(Scripted(OK))
    with caplog.at_level(logging.WARNING):
        await executor.submit(recovery("r1", state=S.UNKNOWN))

    assert "recovery r1: unknown state UNKNOWN" in caplog.text
    assert executor.tracked == {}
    assert recorder.records == []
