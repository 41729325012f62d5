"""The Faust app object: what create_app sets that the rest of the worker relies on."""

from typing import Any

import pytest
from faust.types import TP, Message

from streams.app import UnreadMonitor, WorkerTopic, create_app
from streams.config import KafkaSettings, ServiceSettings

ERRORS = TP("tmc.errors", 0)


async def test_the_monitor_keeps_no_per_record_statistics_yet_takes_faust_s_own_calls() -> None:
    """Per-record statistics nobody reads cost a storm about 3% of its CPU; the offsets Faust's
    consumer hands its monitor still land."""
    app = create_app(ServiceSettings())
    monitor = app.monitor
    assert isinstance(monitor, UnreadMonitor)
    message = Message(ERRORS.topic, 0, 7, 0.0, 0, [], b"k", b"v", None, tp=ERRORS)
    monitor.on_message_in(ERRORS, 7, message)
    monitor.on_message_out(ERRORS, 7, message)
    monitor.on_send_initiated(app.producer, ERRORS.topic, None, 1, 1)  # type: ignore[arg-type]
    assert (monitor.messages_received_total, monitor.messages_sent) == (0, 0)
    assert message.time_in is None
    monitor.on_tp_commit({ERRORS: 8})
    assert monitor.tp_committed_offsets[ERRORS] == 8


def test_the_producer_batches_up_to_the_configured_size() -> None:
    """A batch close waits one produce round trip per record batch: the size is the worker's
    setting, not the client's 16 KiB."""
    default = create_app(ServiceSettings())
    assert default.conf.producer_max_batch_size == 256 * 1024
    tuned = create_app(ServiceSettings(kafka=KafkaSettings(producer_batch_bytes=65536)))
    assert tuned.conf.producer_max_batch_size == 65536


async def test_a_send_takes_the_started_producer_without_yielding_to_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Faust's start check yields to the event loop up to three times per record sent; once
    the producer runs, every topic (a table's changelog too) takes it as it is. Before, the
    start goes through Faust."""
    app = create_app(ServiceSettings())
    checked: list[str] = []

    async def faust_start_check() -> Any:
        checked.append("start check")
        return app.producer

    monkeypatch.setattr(app, "maybe_start_producer", faust_start_check)
    topic = app.topic("tmc.recovery.results")
    assert isinstance(topic, WorkerTopic)

    assert await topic._get_producer() is app.producer
    assert checked == ["start check"], "not started yet: Faust's path"

    monkeypatch.setattr(type(app.producer), "started", property(lambda producer: True))
    assert await topic._get_producer() is app.producer
    assert checked == ["start check"], "started: no check, no yield"
