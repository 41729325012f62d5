"""Bounded concurrency, one recovery per (strategy, target), and no target waiting on another."""

import asyncio

from schemas.records import RecoveryState
from strategies.base import RecoveryFailed
from streams.config import RetrySettings
from tests.execution.conftest import MakeExecutor
from tests.execution.support import HANG, OK, Migration, Recorder, Scripted, recovery

S = RecoveryState


async def test_backlog_beyond_the_bound_waits_and_is_never_rejected(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    gate = asyncio.Event()
    strategy = Scripted(gate)
    executor = make_executor(strategy, max_concurrent=3)
    ids = [f"r{n}" for n in range(8)]

    for n, recovery_id in enumerate(ids):
        await executor.submit(recovery(recovery_id, target=f"cluster-{n}"))
    await strategy.signal.until(lambda: strategy.active == 3)
    await asyncio.sleep(0.05)  # give a wrongly admitted fourth attempt the chance to start

    assert (executor.running, executor.waiting) == (3, 5)
    assert len(strategy.calls) == 3
    assert len(executor.tracked) == 8
    gate.set()
    for recovery_id in ids:
        assert (await recorder.ended(recovery_id)).state is S.COMPLETED
    assert strategy.peak == 3
    assert (executor.running, executor.waiting) == (0, 0)


async def test_same_target_runs_one_at_a_time_in_submission_order(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    """The first holds its target through its retry wait; the others follow in FIFO order."""
    strategy = Scripted(OK, by_id={"r1": [RecoveryFailed("api down"), OK]})
    executor = make_executor(strategy, max_concurrent=5)

    for recovery_id in ("r1", "r2", "r3"):
        await executor.submit(recovery(recovery_id, target="cluster-a"))
    await recorder.ended("r3")

    assert recorder.events() == [
        ("r1", S.IN_PROGRESS),
        ("r1", S.FAILED),
        ("r1", S.RETRY_SCHEDULED),
        ("r1", S.IN_PROGRESS),
        ("r1", S.COMPLETED),
        ("r2", S.IN_PROGRESS),
        ("r2", S.COMPLETED),
        ("r3", S.IN_PROGRESS),
        ("r3", S.COMPLETED),
    ]
    assert strategy.peak == 1


async def test_different_strategies_on_one_target_do_not_wait_for_each_other(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    probe_gate = asyncio.Event()
    probe, migration = Scripted(probe_gate), Migration(OK)
    executor = make_executor(probe, migration)

    await executor.submit(recovery("p1", target="cluster-a"))
    await probe.signal.until(lambda: probe.active == 1)
    await executor.submit(recovery("m1", target="cluster-a", strategy="Migration"))

    assert (await recorder.ended("m1")).state is S.COMPLETED
    assert recorder.states("p1") == [S.IN_PROGRESS]
    probe_gate.set()
    await recorder.ended("p1")


async def test_a_hung_cluster_delays_no_other_cluster(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    """a1 hangs in one slot and a2 queues behind it without a slot; cluster-b uses the other."""
    strategy = Scripted(OK, by_id={"a1": [HANG]})
    executor = make_executor(strategy, max_concurrent=2)

    await executor.submit(recovery("a1", target="cluster-a"))
    await executor.submit(recovery("a2", target="cluster-a"))
    for n in range(4):
        await executor.submit(recovery(f"b{n}", target="cluster-b"))

    for n in range(4):
        assert (await recorder.ended(f"b{n}")).state is S.COMPLETED
    assert recorder.states("a1") == [S.IN_PROGRESS]
    assert recorder.states("a2") == []
    assert executor.running == 1


async def test_a_retry_wait_holds_no_slot(make_executor: MakeExecutor, recorder: Recorder) -> None:
    slow_retry = RetrySettings(base_delay_s=0.3, max_delay_s=1.0, jitter=0.0)
    strategy = Scripted(OK, by_id={"a1": [RecoveryFailed("api down"), OK]})
    executor = make_executor(strategy, max_concurrent=1, retry=slow_retry)

    await executor.submit(recovery("a1", target="cluster-a"))
    await recorder.reached("a1", S.RETRY_SCHEDULED)
    await executor.submit(recovery("b1", target="cluster-b"))
    await recorder.ended("a1")

    events = recorder.events()
    second_start = max(i for i, event in enumerate(events) if event == ("a1", S.IN_PROGRESS))
    assert events.index(("b1", S.COMPLETED)) < second_start
