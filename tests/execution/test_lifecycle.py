"""The transition sequences a recovery goes through, from submit to its terminal state."""

from datetime import timedelta

import pytest

from schemas.codec import RecordCodec
from schemas.records import RecoveryOutcome, RecoveryResult, RecoveryState
from strategies.base import RecoveryFailed
from tests.execution.conftest import MakeExecutor
from tests.execution.support import (
    HANG,
    OK,
    Call,
    Migration,
    QuickTimeout,
    Recorder,
    Scripted,
    eventually,
    recovery,
    retried,
)

S = RecoveryState


async def test_happy_path_publishes_in_progress_then_completed(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    strategy = Scripted(OK)
    await make_executor(strategy).submit(recovery("r1"))

    done = await recorder.ended("r1")

    assert recorder.states("r1") == [S.IN_PROGRESS, S.COMPLETED]
    assert [t.state for t in done.transitions] == [S.PENDING, S.IN_PROGRESS, S.COMPLETED]
    assert [t.attempt for t in done.transitions[1:]] == [1, 1]
    assert done.result == OK
    assert done.transitions[-1].reason == OK.message
    assert done.context.attempt == 1
    assert done.end_time == done.transitions[-1].at
    assert recorder.of("r1")[0].end_time is None
    assert strategy.calls == [Call("r1", 1, False)]


async def test_retry_with_backoff_then_success(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    strategy = Scripted(RecoveryFailed("api down", actions=("probed",)), OK)
    await make_executor(strategy).submit(recovery("r1"))

    done = await recorder.ended("r1")

    assert recorder.states("r1") == [*retried(S.FAILED), S.IN_PROGRESS, S.COMPLETED]
    failed, scheduled = recorder.of("r1")[1:3]
    assert failed.transitions[-1].reason == "api down"
    assert failed.result is not None
    assert failed.result.actions == ("probed",)
    assert scheduled.retry_due_at is not None
    assert scheduled.retry_due_at > scheduled.transitions[-1].at
    assert done.retry_due_at is None
    assert [t.attempt for t in done.transitions[1:]] == [1, 1, 1, 2, 2]
    assert [c.attempt for c in strategy.calls] == [1, 2]


async def test_exhausted_attempts_escalate_with_the_seed_style_reason(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    failure = RecoveryFailed(
        "rollback required", actions=("paused",), next_steps=("roll back by hand",)
    )
    strategy = Migration(failure)
    await make_executor(strategy).submit(recovery("m1", strategy="Migration", max_attempts=3))

    done = await recorder.ended("m1")

    assert done.state is S.ESCALATED
    assert (
        done.transitions[-1].reason
        == "Migration recovery failed after 3 attempts: rollback required"
    )
    assert recorder.states("m1") == [*retried(S.FAILED) * 2, S.IN_PROGRESS, S.FAILED, S.ESCALATED]
    assert done.result is not None
    assert done.result.actions == ("paused",)
    assert done.result.next_steps == ("roll back by hand",), "an operator sees what to do"
    assert done.end_time is not None
    assert len(strategy.calls) == 3


async def test_non_retryable_failure_escalates_after_one_attempt(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    strategy = Migration(RecoveryFailed("rollback required", retryable=False))
    await make_executor(strategy).submit(recovery("m1", strategy="Migration", max_attempts=3))

    done = await recorder.ended("m1")

    assert recorder.states("m1") == [S.IN_PROGRESS, S.FAILED, S.ESCALATED]
    assert done.transitions[-2].reason == "not retryable: rollback required"
    assert done.transitions[-1].reason == (
        "Migration recovery failed after 1 attempt (not retryable): rollback required"
    )
    assert len(strategy.calls) == 1


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        (RuntimeError("boom"), "RuntimeError: boom"),
        (TimeoutError("socket read"), "TimeoutError: socket read"),
        (RecoveryOutcome(success=False, message="still down"), "still down"),
    ],
)
async def test_any_failing_attempt_is_failed_and_retried(
    make_executor: MakeExecutor, recorder: Recorder, step: Exception | RecoveryOutcome, reason: str
) -> None:
    """Exceptions, the strategy's own timeouts and unsuccessful outcomes are all Failed."""
    strategy = Scripted(step, OK)
    executor = make_executor(strategy)
    await executor.submit(recovery("r1"))

    failed = await recorder.reached("r1", S.FAILED)
    await recorder.ended("r1")

    assert failed.transitions[-1].reason == reason
    assert recorder.states("r1")[-1] is S.COMPLETED
    await eventually(lambda: not executor.tracked)  # untracked just after the last publish


async def test_timeout_records_timeout_then_retries(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    strategy = QuickTimeout(HANG, OK)
    await make_executor(strategy).submit(recovery("q1", strategy="Quick"))

    await recorder.ended("q1")

    assert recorder.states("q1") == [*retried(S.TIMEOUT), S.IN_PROGRESS, S.COMPLETED]
    assert recorder.of("q1")[1].transitions[-1].reason == "timed out after 0.1s"
    assert strategy.cancelled == ["q1"]  # the timeout reached the strategy as cancellation


async def test_timeouts_exhausting_attempts_escalate(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    strategy = QuickTimeout(HANG)
    await make_executor(strategy).submit(recovery("q1", strategy="Quick", max_attempts=2))

    done = await recorder.ended("q1")

    assert recorder.states("q1") == [*retried(S.TIMEOUT), S.IN_PROGRESS, S.TIMEOUT, S.ESCALATED]
    assert (
        done.transitions[-1].reason
        == "Quick recovery failed after 2 attempts: timed out after 0.1s"
    )


async def test_configured_timeout_overrides_the_strategys_own(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    strategy = Scripted(HANG, OK)  # its own timeout is 30 s
    executor = make_executor(strategy, timeouts={"Probe": timedelta(milliseconds=50)})
    await executor.submit(recovery("r1"))

    timed_out = await recorder.reached("r1", S.TIMEOUT)

    assert timed_out.transitions[-1].reason == "timed out after 0.05s"


async def test_dry_run_reaches_the_strategy(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    strategy = Scripted(OK)
    await make_executor(strategy, dry_run=True).submit(recovery("r1"))

    await recorder.ended("r1")

    assert strategy.calls == [Call("r1", 1, True)]


async def test_unknown_strategy_escalates_at_once(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    await make_executor(Scripted()).submit(recovery("x1", strategy="Vanished"))

    done = await recorder.ended("x1")

    assert recorder.states("x1") == [S.ESCALATED]
    assert done.transitions[-1].reason == "no strategy named 'Vanished' on this worker"


async def test_every_published_record_round_trips_through_the_avro_contract(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    strategy = Migration(RecoveryFailed("api down", actions=("probed",)), HANG)
    executor = make_executor(strategy, timeouts={"Migration": timedelta(milliseconds=50)})
    await executor.submit(recovery("m1", strategy="Migration", max_attempts=2))
    await recorder.ended("m1")

    codec = RecordCodec(RecoveryResult)
    assert [codec.decode(codec.encode(r)) for r in recorder.records] == recorder.records
