"""An executor factory that closes what it made, so no test leaks background tasks."""

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from streams.config import ExecutionSettings, RetrySettings
from streams.execution import RecoveryExecutor
from tests.execution.support import Recorder, Scripted

FAST_RETRY = RetrySettings(base_delay_s=0.01, max_delay_s=0.05, multiplier=2.0, jitter=0.0)

MakeExecutor = Callable[..., RecoveryExecutor]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def make_executor(recorder: Recorder) -> AsyncIterator[MakeExecutor]:
    """``make_executor(*strategies, max_concurrent=5, retry=FAST_RETRY, **options)``."""
    made: list[RecoveryExecutor] = []

    def make(
        *strategies: Scripted,
        max_concurrent: int = 5,
        retry: RetrySettings = FAST_RETRY,
        **options: Any,
    ) -> RecoveryExecutor:
        options.setdefault("publish", recorder)
        executor = RecoveryExecutor(
            {strategy.name: strategy for strategy in strategies},
            settings=ExecutionSettings(max_concurrent=max_concurrent),
            retry=retry,
            **options,
        )
        made.append(executor)
        return executor

    yield make
    for executor in made:
        await executor.close()
