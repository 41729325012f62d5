"""A publish callback that fails must not lose the recovery."""

import logging

import pytest

from schemas.records import RecoveryState
from tests.execution.conftest import MakeExecutor
from tests.execution.support import OK, FlakyPublish, Recorder, Scripted, eventually, recovery

S = RecoveryState


async def test_a_failed_publish_is_retried_and_logged_with_the_recovery_id(
    make_executor: MakeExecutor, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    publish = FlakyPublish(recorder, {S.IN_PROGRESS: 2})
    executor = make_executor(Scripted(OK), publish=publish, publish_attempts=5)

    with caplog.at_level(logging.WARNING):
        await executor.submit(recovery("r1"))
        await recorder.ended("r1")

    assert recorder.states("r1") == [S.IN_PROGRESS, S.COMPLETED]
    assert caplog.text.count("recovery r1: publishing InProgress failed") == 2
    assert executor.unpublished == {}


async def test_a_record_given_up_on_is_kept_in_memory(
    make_executor: MakeExecutor, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    strategy = Scripted(OK)
    publish = FlakyPublish(recorder, {S.COMPLETED: 1_000})
    executor = make_executor(strategy, publish=publish, publish_attempts=3)

    with caplog.at_level(logging.WARNING):
        await executor.submit(recovery("r1"))
        await eventually(lambda: "r1" in executor.unpublished)

    assert executor.unpublished["r1"].state is S.COMPLETED
    assert "recovery r1: gave up publishing Completed" in caplog.text
    assert publish.failures[S.COMPLETED] == 1_000 - 3
    assert len(strategy.calls) == 1


async def test_the_next_published_record_heals_a_gap(
    make_executor: MakeExecutor, recorder: Recorder
) -> None:
    publish = FlakyPublish(recorder, {S.IN_PROGRESS: 1_000})
    executor = make_executor(Scripted(OK), publish=publish, publish_attempts=2)

    await executor.submit(recovery("r1"))
    done = await recorder.ended("r1")

    assert recorder.states("r1") == [S.COMPLETED]
    assert [t.state for t in done.transitions] == [S.PENDING, S.IN_PROGRESS, S.COMPLETED]
    assert executor.unpublished == {}
