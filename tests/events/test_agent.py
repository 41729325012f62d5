"""The events stage's handler on the results topic: what it cannot send is counted and logged,
and the delivery goes on (streams/events/agent.py)."""

from types import SimpleNamespace
from typing import Any

import pytest

from schemas.codec import RecordCodec
from schemas.records import RecoveryResult
from streams.config import ServiceSettings
from streams.events.agent import EventsAgent
from streams.execution import lifecycle
from streams.metrics import Metrics
from tests.events.test_shape import at, pending

RESULTS = RecordCodec(RecoveryResult)


class RefusingTopic:
    async def send(self, **record: Any) -> None:
        raise ConnectionError("the events topic is gone")


class Event:
    def __init__(self, value: bytes) -> None:
        self.message = SimpleNamespace(key=b"edge-1", value=value)
        self.acked = False

    def ack(self) -> None:
        self.acked = True


async def test_an_event_not_sent_is_counted_and_its_record_still_acked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    shared = SimpleNamespace(
        settings=ServiceSettings(),
        metrics=Metrics(),
        results=RESULTS,
        topics=SimpleNamespace(events=RefusingTopic()),
    )
    agent = EventsAgent(shared)  # type: ignore[arg-type]
    started = Event(RESULTS.encode(lifecycle.start_attempt(pending(), 1, at(1))))

    await agent._publish(started)  # type: ignore[arg-type]

    assert started.acked
    assert agent.dropped.labels("send_failed")._value.get() == 1
    assert "the events topic is gone" in caplog.text
