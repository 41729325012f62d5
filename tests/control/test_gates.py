"""The executor under the switches: a pause holds attempts (recorded once, nothing run, nothing
lost) until the resume; shadow mode runs the strategy dry and says so; a worker that has not
read the switches yet acts on nothing."""

import asyncio

from schemas.records import RecoveryState
from strategies.base import RecoveryFailed
from streams.config import RetrySettings
from streams.control.state import PAUSE, Switch, shadow_key
from streams.control.view import ControlView
from streams.execution.lifecycle import SHADOW_RUN
from tests.execution.conftest import MakeExecutor
from tests.execution.support import OK, Recorder, Scripted, recovery

S = RecoveryState
PAUSED = Switch(True, "alice", "bad deploy", "2026-12-01T15:00:00+00:00")
RESUMED = Switch(False, "alice", "", "2026-12-01T15:05:00+00:00")
RETRY_SOON = RetrySettings(base_delay_s=0.2, max_delay_s=0.2, jitter=0.0)
HELD = "held: fleet paused by alice at 2026-12-01T15:00:00+00:00: bad deploy"


def view() -> ControlView:
    return ControlView("127.0.0.1:9", "control", 1)


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_paused_recovery_is_held_visibly_once_and_runs_after_the_resume(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    control, strategy = view(), Scripted()
    await control.apply([(PAUSE, PAUSED.value())], loaded=True)
    executor = make_executor(strategy, gates=control)
    await executor.submit(recovery("r1"))
    await recorder.reached("r1", S.WAITING)
    await control.apply([(PAUSE, PAUSED.value())], loaded=True)  # the same pause read again
    await settle()

    assert strategy.calls == []
    assert recorder.states("r1") == [S.WAITING]
    assert recorder.of("r1")[-1].transitions[-1].reason == HELD
    assert "r1" in executor.tracked

    await control.apply([(PAUSE, RESUMED.value())], loaded=True)
    done = await recorder.ended("r1")
    assert done.state is S.COMPLETED
    assert recorder.states("r1") == [S.WAITING, S.IN_PROGRESS, S.COMPLETED]


async def test_a_retry_due_during_a_pause_waits_for_the_resume(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    control = view()
    await control.apply([], loaded=True)
    strategy = Scripted(RecoveryFailed("still down"), OK)
    executor = make_executor(strategy, gates=control, retry=RETRY_SOON)
    await control.apply([(PAUSE, PAUSED.value())], loaded=True)
    await executor.submit(recovery("r1"))
    await recorder.reached("r1", S.WAITING)
    await control.apply([(PAUSE, RESUMED.value())], loaded=True)
    await recorder.reached("r1", S.RETRY_SCHEDULED)
    await control.apply([(PAUSE, PAUSED.value())], loaded=True)
    await asyncio.sleep(0.5)  # past the retry's due time

    assert strategy.started("r1") == 1, "the retry did not run while paused"
    held = recorder.of("r1")[-1]
    assert (held.state, held.transitions[-1].reason) == (S.RETRY_SCHEDULED, HELD)
    assert held.retry_due_at is not None, "still scheduled, not dropped"
    await control.apply([(PAUSE, RESUMED.value())], loaded=True)
    assert (await recorder.ended("r1")).state is S.COMPLETED
    assert strategy.started("r1") == 2


async def test_nothing_acts_before_the_switches_are_read(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    control, strategy = view(), Scripted()
    executor = make_executor(strategy, gates=control)
    await executor.submit(recovery("r1"))
    await settle()
    assert strategy.calls == []
    await control.apply([], loaded=True)
    assert (await recorder.ended("r1")).state is S.COMPLETED


async def test_a_shadowed_strategy_runs_dry_and_its_result_says_so(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    control, strategy = view(), Scripted()
    await control.apply([(shadow_key("Probe"), PAUSED.value())], loaded=True)
    executor = make_executor(strategy, gates=control)
    await executor.submit(recovery("r1"))
    done = await recorder.ended("r1")

    assert [call.dry_run for call in strategy.calls] == [True]
    assert done.state is S.COMPLETED
    assert done.result is not None
    assert done.result.message == f"{SHADOW_RUN}healed"
    assert done.transitions[-1].reason == f"{SHADOW_RUN}healed"
    assert done.result.actions == ("probed",), "the planned actions are reported"

    await control.apply([(shadow_key("Probe"), RESUMED.value())], loaded=True)
    await executor.submit(recovery("r2"))
    await recorder.ended("r2")
    assert [call.dry_run for call in strategy.calls] == [True, False]
