"""A fetched batch delivered under one guard keeps Faust's per-record rules
(streams/batch_delivery.py).

Pure logic: the app's own consumer, never started, with a recording callback in place of the
conductor. Rebalances on a real broker are covered by the pipeline tests.
"""

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from aiokafka.structs import ConsumerRecord
from faust.types import TP, EventT, Message
from faust.types.tuples import ConsumerMessage

from streams.app import create_app
from streams.batch_delivery import FETCH_WAIT_S, BatchDeliveryConsumer, Handler
from streams.config import ServiceSettings

TOPIC = "tmc.errors"


def message(partition: int, offset: int) -> tuple[TP, Message]:
    tp = TP(TOPIC, partition)
    return tp, Message(TOPIC, partition, offset, 0.0, 0, [], b"k", b"v", None, tp=tp)


@pytest.fixture
async def consumer() -> BatchDeliveryConsumer:
    """Made in the test's event loop, which the consumer's own tasks then run in."""
    made = create_app(ServiceSettings()).consumer
    assert isinstance(made, BatchDeliveryConsumer)
    return made


async def test_the_broker_holds_a_fetch_no_longer_than_a_delivery_waits(
    consumer: BatchDeliveryConsumer,
) -> None:
    """Not Faust's 1.5 s: a fetch of partitions with nothing new would idle the worker that
    long while errors wait (streams/batch_delivery.py, ``ShortFetchWaitThread``)."""
    kafka = consumer._thread._create_consumer(asyncio.get_running_loop())
    try:
        assert kafka._fetch_max_wait_ms == FETCH_WAIT_S * 1000 == 100
    finally:
        await kafka.stop()


def generation(consumer: BatchDeliveryConsumer) -> int:
    current: int = consumer.app.consumer_generation_id
    return current


def recording(
    consumer: BatchDeliveryConsumer, then: Callable[[int], None] = lambda count: None
) -> list[tuple[int, int]]:
    """Replace the conductor: note each delivered (partition, offset), then call ``then``."""
    delivered: list[tuple[int, int]] = []

    async def callback(msg: Message) -> None:
        delivered.append((msg.partition, msg.offset))
        then(len(delivered))

    consumer.callback = callback
    return delivered


async def test_delivers_the_batch_in_order_and_notes_read_offsets(
    consumer: BatchDeliveryConsumer,
) -> None:
    delivered = recording(consumer)
    await consumer._deliver([message(0, 5), message(1, 9), message(0, 6)], generation(consumer))
    assert delivered == [(0, 5), (1, 9), (0, 6)]
    assert consumer._read_offset[TP(TOPIC, 0)] == 6
    assert consumer._read_offset[TP(TOPIC, 1)] == 9


async def test_skips_a_record_before_the_read_offset(consumer: BatchDeliveryConsumer) -> None:
    """A re-fetch after a seek: what was already delivered is not delivered twice."""
    delivered = recording(consumer)
    consumer._read_offset[TP(TOPIC, 0)] = 7
    await consumer._deliver([message(0, 6), message(0, 7), message(0, 8)], generation(consumer))
    assert delivered == [(0, 7), (0, 8)]


async def test_stops_at_the_first_record_after_the_flow_stops(
    consumer: BatchDeliveryConsumer,
) -> None:
    def stop_at_second(count: int) -> None:
        if count == 2:
            consumer.stop_flow()

    delivered = recording(consumer, stop_at_second)
    await consumer._deliver([message(0, offset) for offset in range(5)], generation(consumer))
    assert delivered == [(0, 0), (0, 1)]
    assert consumer._read_offset[TP(TOPIC, 0)] == 1


async def test_stops_when_the_generation_moves_on(consumer: BatchDeliveryConsumer) -> None:
    app = consumer.app

    def rebalance_at_first(count: int) -> None:
        app.consumer_generation_id += 1

    delivered = recording(consumer, rebalance_at_first)
    await consumer._deliver([message(2, offset) for offset in range(3)], generation(consumer))
    assert delivered == [(2, 0)]


async def test_a_batch_fetched_in_an_older_generation_is_not_delivered(
    consumer: BatchDeliveryConsumer,
) -> None:
    delivered = recording(consumer)
    fetched_in = generation(consumer)
    consumer.app.consumer_generation_id += 1
    await consumer._deliver([message(0, 0), message(1, 0)], fetched_in)
    assert delivered == []


async def test_a_topic_read_by_several_handlers_is_processed_once_every_one_acked(
    consumer: BatchDeliveryConsumer,
) -> None:
    """The results topic has three readers (triage, status, events): each gets the record's
    one event in the order added, and the record counts as processed only with the last ack
    (the status batch acks when it closes, after the others)."""
    tp = TP(TOPIC, 0)
    record = ConsumerMessage(TOPIC, 0, 7, 0.0, 0, [], b"k", b"v", None, tp=tp)
    taken: list[tuple[str, EventT[bytes]]] = []

    def reader(name: str) -> Handler:
        async def take(event: EventT[bytes]) -> None:
            taken.append((name, event))

        return take

    routes = consumer._routes
    routes.add(consumer.app.topic(TOPIC), reader("first"))
    routes.add(consumer.app.topic(TOPIC), reader("second"))
    await consumer._deliver([(tp, record)], generation(consumer))

    assert [name for name, _ in taken] == ["first", "second"]
    assert taken[0][1] is taken[1][1]
    assert taken[0][1].message is record
    assert len(routes.topics) == 1
    taken[1][1].ack()
    assert not record.acked
    taken[0][1].ack()
    assert record.acked


class BrokerFetch:
    """Stands in for the consumer thread, so Faust's own ``getmany`` runs. Each fetch runs
    ``inside`` (in the thread, before the records are returned), then gives ``offsets`` of
    partition 0."""

    def __init__(
        self,
        offsets: list[int],
        inside: Callable[[], Awaitable[None]] | None = None,
        returned: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.consumer, self.offsets, self.inside, self.returned = (
            consumer,
            offsets,
            inside,
            returned,
        )

    async def getmany(
        self,
        active_partitions: object,
        timeout: float,  # noqa: ASYNC109 (the consumer thread's signature)
    ) -> dict[TP, list[object]]:
        if self.inside is not None:
            await self.inside()
        records = [
            ConsumerRecord(TOPIC, 0, offset, 0, 0, b"k", b"v", None, 1, 1, [])
            for offset in self.offsets
        ]
        return {TP(TOPIC, 0): records} if records else {}

    def highwater(self, tp: TP) -> int:
        return 1000


def fetching(
    consumer: BatchDeliveryConsumer,
    monkeypatch: pytest.MonkeyPatch,
    offsets: list[int],
    inside: Callable[[], Awaitable[None]] | None = None,
) -> None:
    monkeypatch.setattr(consumer, "_thread", BrokerFetch(offsets, inside))
    consumer._set_active_tps({TP(TOPIC, 0)})


def rebalancing(consumer: BatchDeliveryConsumer) -> Callable[[], Awaitable[None]]:
    """A whole rebalance: the flow stops, a new generation is assigned, the flow resumes."""

    async def rebalance() -> None:
        consumer.stop_flow()
        consumer.app.consumer_generation_id += 1
        consumer.resume_flow()

    return rebalance


async def test_a_fetch_that_waited_out_a_rebalance_is_delivered(
    consumer: BatchDeliveryConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread waited out the rebalance and read from the positions the new generation's
    seeks set (the table recovery's changelogs): nothing would read them again."""
    fetching(consumer, monkeypatch, [3, 4], inside=rebalancing(consumer))
    delivered = recording(consumer)
    await consumer._read_one_batch()
    assert delivered == [(0, 3), (0, 4)]


async def test_a_read_that_finds_the_flow_stopped_holds_nothing(
    consumer: BatchDeliveryConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flow stopped while a seek held the exclusion: the read waits for the flow outside
    it, or the rebalance's next seek would wait for a read waiting for the rebalance."""
    fetching(consumer, monkeypatch, [3])
    delivered = recording(consumer)
    consumer.stop_flow()
    await asyncio.wait_for(consumer._read_one_batch(), 5)
    assert delivered == []
    assert not consumer._batch_in_hand.locked()


def seeks_seeing(
    consumer: BatchDeliveryConsumer, monkeypatch: pytest.MonkeyPatch, delivered: list[int]
) -> list[list[int]]:
    """Replace the broker seek: each seek notes what had been delivered when it moved."""
    seen: list[list[int]] = []

    async def seek_to_committed() -> dict[TP, int]:
        seen.append(list(delivered))
        return {}

    monkeypatch.setattr(consumer, "seek_to_committed", seek_to_committed)
    return seen


async def test_a_seek_waits_until_the_batch_in_hand_is_delivered(
    consumer: BatchDeliveryConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A seek resets the read offsets: a record fetched before it and delivered after it would
    make Faust ack the records in between as a gap, unread."""
    fetching(consumer, monkeypatch, [3, 4])
    release, first = asyncio.Event(), asyncio.Event()
    delivered: list[int] = []

    async def slow_callback(msg: Message) -> None:
        delivered.append(msg.offset)
        first.set()
        await release.wait()

    consumer.callback = slow_callback
    seen = seeks_seeing(consumer, monkeypatch, delivered)
    reading = asyncio.create_task(consumer._read_one_batch())
    await asyncio.wait_for(first.wait(), 5)
    seeking = asyncio.create_task(consumer.perform_seek())
    await asyncio.sleep(0.05)
    assert seen == [], "the seek waited"
    release.set()
    await asyncio.wait_for(asyncio.gather(reading, seeking), 5)
    assert seen == [[3, 4]]


async def test_the_fetch_may_seek_from_inside_itself(
    consumer: BatchDeliveryConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Faust's fetch seeks back itself when the flow stopped during it: no deadlock."""
    delivered: list[int] = []
    seen = seeks_seeing(consumer, monkeypatch, delivered)

    async def stop_flow() -> None:
        consumer.stop_flow()

    fetching(consumer, monkeypatch, [5], inside=stop_flow)
    await asyncio.wait_for(consumer._read_one_batch(), 5)
    assert seen == [[]], "Faust's fetch sought back itself, and delivered nothing"
