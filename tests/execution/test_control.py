"""Cancel, release on partition revocation, close, and duplicate submissions."""

import asyncio

from schemas.records import RecoveryState
from strategies.base import RecoveryFailed
from streams.config import RetrySettings
from tests.execution.conftest import MakeExecutor
from tests.execution.support import HANG, OK, Recorder, Scripted, eventually, recovery, retried

S = RecoveryState
SLOW_RETRY = RetrySettings(base_delay_s=30.0, max_delay_s=30.0, jitter=0.0)


async def test_cancel_a_running_attempt_reaches_the_strategy(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    strategy = Scripted(HANG)
    executor = make_executor(strategy)
    await executor.submit(recovery("r1"))
    await strategy.signal.until(lambda: strategy.active == 1)

    assert await executor.cancel("r1", "operator asked")

    assert strategy.cancelled == ["r1"]
    assert recorder.states("r1") == [S.IN_PROGRESS, S.CANCELLED]
    cancelled = recorder.of("r1")[-1]
    assert cancelled.transitions[-1].reason == "operator asked"
    assert cancelled.end_time is not None
    assert executor.tracked == {}
    assert executor.running == 0
    assert not await executor.cancel("r1", "again")


async def test_cancel_a_scheduled_retry(make_executor: MakeExecutor, recorder: Recorder) -> None:
    strategy = Scripted(RecoveryFailed("api down"), OK)
    executor = make_executor(strategy, retry=SLOW_RETRY)
    await executor.submit(recovery("r1"))
    await recorder.reached("r1", S.RETRY_SCHEDULED)

    assert await executor.cancel("r1", "operator asked")

    assert recorder.states("r1") == [*retried(S.FAILED), S.CANCELLED]
    assert recorder.of("r1")[-1].retry_due_at is None
    assert len(strategy.calls) == 1


async def test_cancel_one_waiting_behind_its_target(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    gate = asyncio.Event()
    strategy = Scripted(gate)
    executor = make_executor(strategy)
    await executor.submit(recovery("r1"))
    await executor.submit(recovery("r2"))
    await strategy.signal.until(lambda: strategy.active == 1)

    assert await executor.cancel("r2", "superseded")
    gate.set()

    assert (await recorder.ended("r1")).state is S.COMPLETED
    assert recorder.states("r2") == [S.CANCELLED]
    assert strategy.started("r2") == 0


async def test_cancel_unknown_or_finished_is_false(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    executor = make_executor(Scripted(OK))
    await executor.submit(recovery("r1"))
    await recorder.ended("r1")

    assert not await executor.cancel("r1", "too late")
    assert not await executor.cancel("nope", "never seen")
    assert recorder.states("r1") == [S.IN_PROGRESS, S.COMPLETED]


async def test_release_stops_matching_recoveries_and_publishes_nothing(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    gate = asyncio.Event()
    strategy = Scripted(gate, by_id={"a1": [HANG]})
    executor = make_executor(strategy)
    await executor.submit(recovery("a1", target="cluster-a"))
    await executor.submit(recovery("b1", target="cluster-b"))
    await strategy.signal.until(lambda: strategy.active == 2)
    published = len(recorder.records)

    released = await executor.release(lambda r: r.target == "cluster-a")

    assert released == ["a1"]
    assert strategy.cancelled == ["a1"]
    assert len(recorder.records) == published
    assert list(executor.tracked) == ["b1"]
    gate.set()
    assert (await recorder.ended("b1")).state is S.COMPLETED
    assert recorder.states("a1") == [S.IN_PROGRESS]


async def test_a_released_recovery_can_be_submitted_again(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    """Released work is not remembered as finished: the partition may come back."""
    strategy = Scripted(OK, by_id={"a1": [HANG, OK]})
    executor = make_executor(strategy)
    await executor.submit(recovery("a1"))
    in_progress = await recorder.reached("a1", S.IN_PROGRESS)
    await strategy.signal.until(lambda: strategy.active == 1)
    await executor.release(lambda _: True)

    await executor.submit(in_progress)

    assert (await recorder.ended("a1")).state is S.COMPLETED


async def test_close_stops_everything_silently(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    strategy = Scripted(HANG)
    executor = make_executor(strategy, max_concurrent=1)
    await executor.submit(recovery("a1", target="cluster-a"))
    await executor.submit(recovery("b1", target="cluster-b"))
    await strategy.signal.until(lambda: strategy.active == 1)

    await executor.close()

    assert executor.tracked == {}
    assert recorder.events() == [("a1", S.IN_PROGRESS)]
    assert strategy.cancelled == ["a1"]


async def test_duplicate_submit_is_a_no_op(make_executor: MakeExecutor, recorder: Recorder) -> None:
    gate = asyncio.Event()
    strategy = Scripted(gate)
    executor = make_executor(strategy)
    pending = recovery("r1")

    await executor.submit(pending)
    await executor.submit(pending)
    await strategy.signal.until(lambda: strategy.active == 1)
    await executor.submit(pending)
    gate.set()
    done = await recorder.ended("r1")
    await executor.submit(pending)  # re-delivered after it finished
    await executor.submit(done)  # a terminal record has nothing to drive

    await asyncio.sleep(0.05)
    assert len(strategy.calls) == 1
    assert recorder.states("r1") == [S.IN_PROGRESS, S.COMPLETED]
    await eventually(lambda: not executor.tracked)  # untracked just after the last publish
