"""A worker's view of the silences on the real broker: it reads what was set before it started
(skipping a record it cannot decode), applies a new silence and an early expiry within a poll,
and drops what the sweep tombstones once it has been over for the retention."""

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import timedelta

import faust
import pytest

from schemas.codec import RecordCodec
from schemas.records import Silence
from streams.config import KafkaSettings
from streams.out_of_band import OutOfBand
from streams.silences.view import SilencesFirst, SilenceView
from streams.silences.writer import SilenceWriter
from streams.testing.harness import produce
from tests.silences.test_state import HOUR, T0, silence

pytestmark = pytest.mark.kafka
TopicFactory = Callable[..., str]


async def running(view: SilenceView) -> AsyncIterator[None]:
    task = asyncio.create_task(view.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def until(view: SilenceView, done: Callable[[dict[str, Silence]], bool]) -> None:
    for _ in range(100):
        if done(view.state.silences):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the view never got there: {sorted(view.state.silences)}")


async def test_the_view_follows_sets_expiries_and_the_sweeps_tombstones(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory("silences", 3, {"cleanup.policy": "compact"})
    codec = RecordCodec(Silence)
    first = silence("first", 2, logical_cluster="root:prod")
    await produce(kafka_bootstrap, topic, [(b"first", codec.encode(first)), (b"bad", b"\x00")])
    view = SilenceView(kafka_bootstrap, topic, 3, poll_ms=100)
    # Under exactly-once the writer sends with a producer of its own: no Faust app runs here.
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap, processing_guarantee="exactly_once")
    out_of_band = OutOfBand(kafka)
    writer = SilenceWriter(faust.App("silences-test").topic(topic), out_of_band)
    try:
        async for _ in running(view):
            await asyncio.wait_for(view.loaded.wait(), 10)
            assert view.state.silences == {"first": first}, "the undecodable record is skipped"

            second = silence("second", 5, cluster_name="edge-9")
            await writer.put(second)
            await until(view, lambda silences: "second" in silences)
            ended = await writer.expire(first, T0 + HOUR)
            assert ended == replace(first, expires_at=T0 + HOUR)
            await until(view, lambda silences: silences["first"].expires_at == T0 + HOUR)
            assert await writer.expire(ended, T0 + 2 * HOUR) is ended, "ended already: no write"

            await writer.sweep(view.state, T0 + 3 * HOUR, retention=timedelta(hours=1))
            await until(view, lambda silences: "first" not in silences)
            assert view.state.silences == {"second": second}, "still active: kept"
    finally:
        await out_of_band.close()


async def test_silences_first_finishes_starting_only_once_the_silences_are_read(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    """Started before the Faust app, it holds the worker back from its group until then."""
    topic = topic_factory("silences", 3, {"cleanup.policy": "compact"})
    first = silence("first", 2, logical_cluster="root:prod")
    await produce(kafka_bootstrap, topic, [(b"first", RecordCodec(Silence).encode(first))])
    view = SilenceView(kafka_bootstrap, topic, 3, poll_ms=100)
    service = SilencesFirst(view)
    await asyncio.wait_for(service.start(), 30)
    try:
        assert view.loaded.is_set()
        assert view.state.silences == {"first": first}
    finally:
        await service.stop()


async def test_an_empty_silences_topic_is_loaded_without_waiting_out_a_poll(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory("silences", 3, {"cleanup.policy": "compact"})
    service = SilencesFirst(SilenceView(kafka_bootstrap, topic, 3, poll_ms=120_000))
    await asyncio.wait_for(service.start(), 30)  # a poll would have waited 120 s
    try:
        assert service.view.loaded.is_set()
        assert service.view.state.silences == {}
    finally:
        await service.stop()
