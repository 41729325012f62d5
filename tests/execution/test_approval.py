"""The approval state machine (streams/execution/approval.py) in the executor: a destructive
action waits in AwaitingApproval without acting and without a slot; approve lets it act,
reject cancels it, silence escalates it; the wait survives a restart; off by default."""

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest

from schemas.records import (
    RecoveryContext,
    RecoveryOutcome,
    RecoveryResult,
    RecoveryState,
    TMCError,
)
from strategies.base import Action, ExecutionContext, RecoveryFailed
from streams.config import ApprovalSettings, ExecutionSettings
from streams.execution import RecoveryExecutor
from streams.execution.approval import approved_actions, approved_by
from streams.execution.lifecycle import GATE
from tests.execution.conftest import FAST_RETRY
from tests.execution.support import OK, Recorder, Scripted, recovery

S = RecoveryState
ROLLBACK = "roll migration m back to east"


class Destroyer(Scripted):
    """Reads, then declares a destructive action before taking it (as Migration's rollback)."""

    name = "Migration"

    def __init__(self, *steps: Any, action: str = ROLLBACK) -> None:
        super().__init__(*steps)
        self.action = action
        self.acted: list[str] = []

    async def execute(
        self, ctx: ExecutionContext, error: TMCError, recovery: RecoveryContext
    ) -> RecoveryOutcome:
        ctx.before(
            Action(self.action, "migration:root:tmc/m", "target west is not ready", True),
            ["read migration m: east -> west", "probed target cluster west: unreachable"],
        )
        self.acted.append(ctx.recovery_id)
        return await super().execute(ctx, error, recovery)


Make = Callable[..., RecoveryExecutor]


@pytest.fixture
async def make(recorder: Recorder) -> AsyncIterator[Make]:
    made: list[RecoveryExecutor] = []

    def build(*strategies: Scripted, max_concurrent: int = 5, **approval: Any) -> RecoveryExecutor:
        settings = ExecutionSettings(
            max_concurrent=max_concurrent, approval=ApprovalSettings(**approval)
        )
        executor = RecoveryExecutor({s.name: s for s in strategies}, recorder, settings, FAST_RETRY)
        made.append(executor)
        return executor

    yield build
    for executor in made:
        await executor.close()


def migration(recovery_id: str = "m1", target: str = "migration:root:tmc/m") -> RecoveryResult:
    return recovery(recovery_id, strategy="Migration", target=target)


async def test_off_by_default_a_destructive_action_runs_at_once(
    make: Make, recorder: Recorder
) -> None:
    strategy = Destroyer()
    await make(strategy).submit(migration())

    done = await recorder.ended("m1")

    assert done.state is S.COMPLETED
    assert strategy.acted == ["m1"]
    assert S.AWAITING_APPROVAL not in recorder.states("m1")


async def test_required_for_another_strategy_does_not_hold_this_one(
    make: Make, recorder: Recorder
) -> None:
    strategy = Destroyer()
    await make(strategy, required_for=["Placement"]).submit(migration())

    assert (await recorder.ended("m1")).state is S.COMPLETED
    assert strategy.acted == ["m1"]


async def test_waits_without_acting_or_a_slot_then_acts_once_approved(
    make: Make, recorder: Recorder
) -> None:
    strategy, other = Destroyer(), Scripted(OK)
    executor = make(strategy, other, max_concurrent=1, required_for=["destructive"])
    await executor.submit(migration())

    waiting = await recorder.reached("m1", S.AWAITING_APPROVAL)
    await executor.submit(recovery("p1", target="cluster-b"))  # the one slot is free
    assert (await recorder.ended("p1")).state is S.COMPLETED

    assert strategy.acted == []
    assert waiting.transitions[-1].reason == f"awaiting approval to {ROLLBACK}"
    assert waiting.result is not None
    assert waiting.result.message == (
        f"wants to {ROLLBACK} (target migration:root:tmc/m): target west is not ready"
    )
    assert waiting.result.actions[1] == "probed target cluster west: unreachable"
    assert waiting.result.next_steps[0].startswith("tmc-recovery recoveries approve m1")
    assert executor.tracked["m1"].state is S.AWAITING_APPROVAL

    assert executor.approve("m1", approved_by("alice", "west is gone for good"))
    done = await recorder.ended("m1")

    assert done.state is S.COMPLETED
    assert strategy.acted == ["m1"]
    assert [t.state for t in done.transitions][1:] == [
        S.IN_PROGRESS, S.AWAITING_APPROVAL, S.IN_PROGRESS, S.COMPLETED,
    ]  # fmt: skip
    assert done.transitions[3].reason == "approved by alice: west is gone for good"
    assert done.transitions[3].attempt == 1  # the same attempt, run again


async def test_approve_is_refused_for_a_recovery_not_awaiting_approval(
    make: Make, recorder: Recorder
) -> None:
    executor = make(Destroyer())
    assert not executor.approve("m1", approved_by("alice", "early"))
    await executor.submit(migration())
    await recorder.ended("m1")
    assert not executor.approve("m1", approved_by("alice", "late"))


async def test_reject_cancels_it_without_acting(make: Make, recorder: Recorder) -> None:
    strategy = Destroyer()
    executor = make(strategy, required_for=["Migration"])
    await executor.submit(migration())
    await recorder.reached("m1", S.AWAITING_APPROVAL)

    assert await executor.cancel("m1", "approval rejected by bob: the source is gone too")
    done = await recorder.ended("m1")

    assert done.state is S.CANCELLED
    assert done.transitions[-1].reason == "approval rejected by bob: the source is gone too"
    assert strategy.acted == []


async def test_no_answer_escalates_approval_timed_out_with_the_plan(
    make: Make, recorder: Recorder
) -> None:
    strategy = Destroyer()
    await make(strategy, required_for=["destructive"], timeout_s=0.2).submit(migration())

    done = await recorder.ended("m1")

    assert done.state is S.ESCALATED
    assert done.transitions[-1].reason == (
        f"approval timed out after 0.2s: nobody approved to {ROLLBACK}"
    )
    assert done.context.metadata[GATE] == "approval_timeout"
    assert done.result is not None
    assert "probed target cluster west: unreachable" in done.result.actions
    assert done.result.next_steps[0] == f"decide whether to {ROLLBACK} by hand"
    assert strategy.acted == []


async def awaiting_then_released(make: Make, recorder: Recorder) -> RecoveryResult:
    """m1 awaiting approval on a worker that then goes away: the row a new owner resumes."""
    first = make(Destroyer(), required_for=["destructive"])
    await first.submit(migration())
    waiting = await recorder.reached("m1", S.AWAITING_APPROVAL)
    assert await first.release(lambda r: True) == ["m1"]
    return waiting


async def test_a_restart_mid_wait_waits_on_and_an_approval_reaches_the_new_owner(
    make: Make, recorder: Recorder
) -> None:
    waiting = await awaiting_then_released(make, recorder)

    strategy = Destroyer()
    second = make(strategy, required_for=["destructive"])
    await second.submit(waiting)  # resumed from the status table's row
    await recorder.signal.until(lambda: "m1" in second.tracked)
    assert strategy.calls == []  # it does not run the attempt again to ask again

    assert second.approve("m1", approved_by("carol", "go"))
    done = await recorder.ended("m1")

    assert done.state is S.COMPLETED
    assert strategy.acted == ["m1"]


async def test_a_restart_after_the_deadline_escalates_at_once(
    make: Make, recorder: Recorder
) -> None:
    waiting = await awaiting_then_released(make, recorder)

    strategy = Destroyer()
    await make(strategy, required_for=["destructive"], timeout_s=0.001).submit(waiting)

    done = await recorder.ended("m1")
    assert done.state is S.ESCALATED
    assert strategy.calls == []


async def test_an_approval_covers_that_action_only(make: Make, recorder: Recorder) -> None:
    """Approved for one rollback, a later attempt that plans another action asks again."""
    strategy = Destroyer(RecoveryFailed("rollback refused"), OK)
    executor = make(strategy, required_for=["destructive"])
    await executor.submit(migration())
    await recorder.reached("m1", S.AWAITING_APPROVAL)
    executor.approve("m1", approved_by("alice", "ok"))
    await recorder.reached("m1", S.RETRY_SCHEDULED)
    strategy.action = "roll migration m back to north"
    await recorder.signal.until(lambda: recorder.states("m1").count(S.AWAITING_APPROVAL) == 2)

    latest = executor.tracked["m1"]
    assert approved_actions(latest) == frozenset({ROLLBACK})
    assert latest.transitions[-1].reason == "awaiting approval to roll migration m back to north"
    assert strategy.acted == ["m1"]


async def test_an_exhausted_recovery_escalates_with_its_gate_and_the_strategy_steps(
    make: Make, recorder: Recorder
) -> None:
    failing = Scripted(
        RecoveryFailed("still down", actions=("probed cluster-a",), next_steps=("check it",))
    )
    executor = make(failing)
    await executor.submit(recovery("r1", max_attempts=2))

    done = await recorder.ended("r1")

    assert done.context.metadata[GATE] == "attempts_exhausted"
    assert done.result is not None
    assert done.result.actions == ("probed cluster-a",)
    assert done.result.next_steps == ("check it",)  # the strategy's own
    failures = [t.reason for t in done.transitions if t.state is S.FAILED]
    assert failures == ["still down", "still down"]


async def test_an_escalation_without_next_steps_gets_one(make: Make, recorder: Recorder) -> None:
    executor = make(Scripted(RecoveryFailed("refused", retryable=False)))
    await executor.submit(recovery("r1"))

    done = await recorder.ended("r1")

    assert done.context.metadata[GATE] == "not_retryable"
    assert done.result is not None
    assert done.result.next_steps == (
        "once the cause is fixed: tmc-recovery recoveries retry r1 --reason ...",
    )


def test_the_timeout_defaults_to_half_an_hour_and_nothing_is_required() -> None:
    settings = ExecutionSettings()
    assert settings.approval.timeout_s == timedelta(minutes=30).total_seconds()
    assert settings.approval.required_for == []
