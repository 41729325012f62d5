"""Admission: nothing acts before the worker has caught up, on an ended recovery, or after a
rebalance took the partition away (the lease lapses)."""

import asyncio
from datetime import timedelta

from schemas.records import RecoveryResult, RecoveryState
from streams.execution.executor import Admission
from tests.execution.conftest import MakeExecutor
from tests.execution.support import HANG, OK, Recorder, Scripted, eventually, recovery

S = RecoveryState


async def test_an_ended_recovery_is_not_admitted_and_nothing_runs(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    async def ended(_: RecoveryResult) -> Admission | None:
        return None

    strategy = Scripted(OK)
    executor = make_executor(strategy, admit=ended)
    await executor.submit(recovery("r1"))

    await eventually(lambda: not executor.tracked)
    assert strategy.calls == []
    assert recorder.events() == []


async def test_nothing_runs_until_admitted(make_executor: MakeExecutor, recorder: Recorder) -> None:
    caught_up = asyncio.Event()

    async def after_catch_up(record: RecoveryResult) -> Admission:
        await caught_up.wait()
        return Admission(record, lambda: True)

    strategy = Scripted(OK)
    executor = make_executor(strategy, admit=after_catch_up)
    await executor.submit(recovery("r1"))
    await asyncio.sleep(0.05)
    assert strategy.calls == []
    assert await executor.cancel("r1", "operator") is False  # not admitted: not ours yet

    caught_up.set()
    await recorder.ended("r1")
    assert recorder.states("r1") == [S.IN_PROGRESS, S.COMPLETED]


async def test_the_table_row_wins_when_it_is_further_along(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    """A redelivered Pending request whose recovery already ran attempt 2: resume attempt 2."""
    in_table = recovery("r1", state=S.IN_PROGRESS, attempt=2)

    async def from_table(_: RecoveryResult) -> Admission:
        return Admission(in_table, lambda: True)

    strategy = Scripted(OK)
    await make_executor(strategy, admit=from_table).submit(recovery("r1"))

    done = await recorder.ended("r1")
    assert recorder.states("r1") == [S.COMPLETED]
    assert [t.attempt for t in done.transitions] == [0, 2, 2]


async def test_a_lapsed_lease_stops_before_the_next_record(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    ours = True

    async def leased(record: RecoveryResult) -> Admission:
        return Admission(record, lambda: ours)

    strategy = Scripted(HANG)
    executor = make_executor(
        strategy, admit=leased, timeouts={"Probe": timedelta(milliseconds=200)}
    )
    await executor.submit(recovery("r1"))
    await recorder.reached("r1", S.IN_PROGRESS)
    ours = False  # a rebalance: the partition now belongs to another worker

    await eventually(lambda: not executor.tracked)
    assert recorder.states("r1") == [S.IN_PROGRESS]  # no Timeout, no retry: not ours to record
