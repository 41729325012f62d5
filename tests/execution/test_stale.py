"""Stale errors in the executor: an error older than ``stale_after_s`` at its recovery's first
attempt is re-verified before each attempt acts. Scripted strategies whose ``verify`` answers
as told: this is the executor's decision logic; the real strategies and the simulator are in
tests/pipeline/test_stale_errors.py."""

import dataclasses
from datetime import timedelta

from schemas.records import RecoveryResult, RecoveryState, StateTransition, TMCError, utc_now
from strategies.base import FaultCheck, RecoveryFailed
from streams.config import ExecutionSettings
from streams.execution.stale import GONE, UNVERIFIABLE, staleness
from tests.execution.conftest import MakeExecutor
from tests.execution.support import OK, Recorder, Scripted, recovery

S = RecoveryState
OLD = timedelta(hours=1)


class Verifying(Scripted):
    """Scripted, and its verify answers ``checks`` in order (the last repeats)."""

    def __init__(self, *checks: FaultCheck | Exception) -> None:
        super().__init__(OK)
        self.checks = list(checks)
        self.verified: list[str | None] = []

    async def verify(self, error: TMCError) -> FaultCheck | None:
        self.verified.append(error.event_id)
        check = self.checks[min(len(self.verified), len(self.checks)) - 1]
        if isinstance(check, Exception):
            raise check
        return check


def aged(record: RecoveryResult, age: timedelta) -> RecoveryResult:
    error = dataclasses.replace(record.error, timestamp=utc_now() - age)
    return dataclasses.replace(record, error=error)


def test_the_age_is_taken_at_the_first_attempt() -> None:
    now = utc_now()
    fresh_then = aged(recovery("r1"), timedelta(minutes=10))
    started = StateTransition(S.IN_PROGRESS, now - timedelta(minutes=9), 1)
    resumed = dataclasses.replace(fresh_then, transitions=(*fresh_then.transitions, started))
    assert staleness(resumed, now, limit_s=300) is None, "it was 60 s old when it first acted"
    stale = staleness(fresh_then, now, limit_s=300)
    assert stale is not None
    assert round(stale.age_s) == 600


async def test_a_fresh_error_is_not_re_verified(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    strategy = Verifying(FaultCheck(False, "fine"))
    await make_executor(strategy).submit(aged(recovery("r1"), timedelta(seconds=10)))
    done = await recorder.ended("r1")
    assert done.state is S.COMPLETED
    assert strategy.verified == []
    assert done.result == OK


async def test_a_stale_error_whose_fault_is_gone_completes_without_acting(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    counted: list[str] = []
    strategy = Verifying(FaultCheck(False, "cluster-a is reachable and ready"))
    executor = make_executor(strategy, on_stale=counted.append)
    await executor.submit(aged(recovery("r1"), OLD))
    done = await recorder.ended("r1")
    assert recorder.states("r1") == [S.IN_PROGRESS, S.COMPLETED]
    assert (recorder.of("r1")[0].transitions[-1].reason or "").startswith(
        "re-verifying a stale error (3600 s old at the first attempt, over 300 s)"
    )
    assert strategy.calls == [], "it did not act"
    assert done.result is not None
    assert done.result.message == f"{GONE}: cluster-a is reachable and ready"
    assert done.result.actions[0].startswith("re-verified a stale error")
    assert counted == [Scripted.name]


async def test_a_stale_error_whose_fault_is_present_acts_and_says_why(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    strategy = Verifying(FaultCheck(True, "cluster-a is not ready"))
    await make_executor(strategy).submit(aged(recovery("r1"), OLD))
    done = await recorder.ended("r1")
    assert done.state is S.COMPLETED
    assert len(strategy.calls) == 1
    assert done.result is not None
    assert done.result.actions == (
        "re-verified a stale error (3600 s old at the first attempt, over 300 s): "
        "fault still present: cluster-a is not ready",
        *OK.actions,
    )


async def test_a_strategy_that_cannot_verify_escalates(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    strategy = Scripted(OK)  # the base class's verify: cannot tell
    await make_executor(strategy).submit(aged(recovery("r1"), OLD))
    done = await recorder.ended("r1")
    assert recorder.states("r1") == [S.IN_PROGRESS, S.FAILED, S.ESCALATED]
    assert UNVERIFIABLE in (done.transitions[-1].reason or "")
    assert strategy.calls == []
    assert done.result is not None
    assert any("POST /recoveries/r1/retry" in step for step in done.result.next_steps)


async def test_every_attempt_of_a_stale_recovery_re_verifies(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    """A verification that failed (the control plane did not answer) is retried, and the
    retry re-verifies rather than acting blindly; here it finds the fault gone."""
    strategy = Verifying(RecoveryFailed("control plane unreachable"), FaultCheck(False, "healed"))
    await make_executor(strategy).submit(aged(recovery("r1"), OLD))
    done = await recorder.ended("r1")
    assert recorder.states("r1") == [
        S.IN_PROGRESS, S.FAILED, S.RETRY_SCHEDULED, S.IN_PROGRESS, S.COMPLETED,
    ]  # fmt: skip
    assert len(strategy.verified) == 2
    assert strategy.calls == []
    assert done.result is not None
    assert done.result.message.startswith(GONE)


async def test_the_limit_in_force_is_read_at_each_attempt(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    strategy = Verifying(FaultCheck(False, "fine"))
    executor = make_executor(strategy)
    executor.stale_after_s = ExecutionSettings(stale_after_s=7200).stale_after_s
    await executor.submit(aged(recovery("r1"), OLD))
    await recorder.ended("r1")
    assert strategy.verified == [], "an hour is not stale under a two-hour limit"
