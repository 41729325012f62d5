"""The starting-config gate's rule: settled once the config topic has been read; a read that
fails is tried again; each timeout without it is an ERROR, after which ``wait`` goes on
waiting and ``file`` starts on the file's configuration. The reader is a fake (pure logic)."""

import asyncio
import logging

import pytest

from streams.config import RuntimeConfigSettings
from streams.runtime_config.gate import Settled, settle


class Reader:
    """Fails, then hangs (a topic that does not answer), then reads, as told per call."""

    def __init__(self, *plan: str) -> None:
        self.plan = list(plan)
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        step = self.plan.pop(0) if self.plan else "hang"
        if step == "fail":
            raise ConnectionError("broker unreachable")
        if step == "hang":
            await asyncio.Event().wait()


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]


async def test_a_read_settles_at_once_and_a_failed_read_is_tried_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reader = Reader("fail", "fail", "read")
    settings = RuntimeConfigSettings(start_timeout_s=60, on_timeout="file")
    assert await settle(reader, settings, retry_s=0.001) is Settled.READ
    assert reader.calls == 3
    assert errors(caplog) == []


async def test_on_timeout_file_starts_on_the_files_configuration_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reader = Reader("hang")
    settings = RuntimeConfigSettings(start_timeout_s=0.05, on_timeout="file")
    assert await settle(reader, settings) is Settled.FILE
    [said] = errors(caplog)
    assert "starting on the file's configuration (runtime_config.on_timeout: file)" in said


async def test_on_timeout_wait_goes_on_waiting_and_says_so_at_each_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    second_report = asyncio.Event()

    class Reports(logging.Handler):
        seen = 0

        def emit(self, record: logging.LogRecord) -> None:
            self.seen += 1
            if self.seen == 2:
                second_report.set()

    async def read() -> None:  # the topic answers once the second timeout was reported
        await second_report.wait()

    gate_log = logging.getLogger("streams.runtime_config.gate")
    handler = Reports(logging.ERROR)
    gate_log.addHandler(handler)
    try:
        settings = RuntimeConfigSettings(start_timeout_s=0.2, on_timeout="wait")
        assert await settle(read, settings) is Settled.READ
    finally:
        gate_log.removeHandler(handler)
    said = errors(caplog)
    assert len(said) == 2
    assert all("acting on nothing until it is (runtime_config.on_timeout: wait" in s for s in said)


def test_the_default_is_to_wait() -> None:
    assert RuntimeConfigSettings().on_timeout == "wait"
