"""A worker's view of the switches on the real broker: it reads what was flipped before it
started, applies a flip within a poll, and outlasts a broker it cannot reach (acting on
nothing meanwhile) instead of crashing the worker."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest

from streams.control.state import PAUSE, Gate, Switch, shadow_key
from streams.control.view import ControlView
from streams.testing.harness import produce

ON = Switch(True, "alice", "bad deploy", "2026-12-01T15:00:00+00:00")
OFF = Switch(False, "alice", "rolled back", "2026-12-01T15:05:00+00:00")

TopicFactory = Callable[..., str]


async def running(view: ControlView) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(view.run())
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.mark.kafka
async def test_the_view_reads_earlier_flips_then_applies_new_ones(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory("control", 3, {"cleanup.policy": "compact"})
    earlier: list[tuple[bytes | None, bytes]] = [
        (PAUSE.encode(), ON.value()),
        (shadow_key("Sync").encode(), ON.value()),
    ]
    await produce(kafka_bootstrap, topic, earlier)
    view = ControlView(kafka_bootstrap, topic, 3, poll_ms=100)
    holds: list[Switch] = []
    held = asyncio.Event()

    async def on_hold(pause: Switch) -> None:
        holds.append(pause)
        held.set()

    async for _ in running(view):
        waiting = asyncio.create_task(view.until_may_act("Generic", on_hold))
        await asyncio.wait_for(held.wait(), 10)
        assert holds == [ON]
        assert not waiting.done()

        await produce(kafka_bootstrap, topic, [(PAUSE.encode(), OFF.value())])
        assert await asyncio.wait_for(waiting, 5) is Gate.ACT
        assert holds == [ON], "recorded once per pause"
        assert view.state.gate("Sync") is Gate.SHADOW


async def test_an_unreachable_broker_is_retried_and_nothing_acts_meanwhile(
    caplog: pytest.LogCaptureFixture,
) -> None:
    view = ControlView("127.0.0.1:9", "control", 1)
    async for task in running(view):
        with caplog.at_level(logging.WARNING, "streams.control.view"):
            waiting = asyncio.create_task(view.until_may_act("Generic", _never))
            await asyncio.sleep(1.5)
            assert not task.done(), "the worker is not crashed"
            assert not waiting.done(), "nothing acts before the switches are read"
            waiting.cancel()
        assert "reading the control topic failed" in caplog.text


async def _never(pause: Switch) -> None:
    raise AssertionError("no pause is known")
