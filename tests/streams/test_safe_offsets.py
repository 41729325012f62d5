"""The worker's consumer commits no offset past a record it has not processed
(streams/safe_offsets.py, and its use in streams/batch_delivery.py).

Pure logic: the app's own consumer, never started, with a fake consumer thread that notes its
seeks and a recording callback in place of the conductor. Rebalances on a real broker are
covered by the pipeline tests.
"""

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from faust.types import TP, Message

from streams.app import create_app
from streams.batch_delivery import BatchDeliveryConsumer
from streams.config import ServiceSettings

TOPIC = "tmc.errors"
P0, P1 = TP(TOPIC, 0), TP(TOPIC, 1)


class ConsumerThread:
    """Notes each seek; the committed offsets are ``committed``."""

    def __init__(self, committed: dict[TP, int]) -> None:
        self.committed, self.seeks = committed, []  # type: ignore[var-annotated]

    async def call_thread(self, method: Callable[..., Any], *args: Any) -> Any:
        return method(*args)

    def seek(self, tp: TP, offset: int) -> None:
        self.seeks.append((tp.partition, offset))

    async def seek_to_committed(self) -> dict[TP, int]:
        return dict(self.committed)


@pytest.fixture
async def consumer(monkeypatch: pytest.MonkeyPatch) -> BatchDeliveryConsumer:
    made = create_app(ServiceSettings()).consumer
    assert isinstance(made, BatchDeliveryConsumer)
    monkeypatch.setattr(made, "_thread", ConsumerThread({P0: 10, P1: 20}))
    return made


def acked(consumer: BatchDeliveryConsumer, tp: TP, *offsets: int) -> None:
    consumer._acked[tp].extend(offsets)
    consumer._acked_index[tp].update(offsets)


def message(tp: TP, offset: int) -> Message:
    return Message(tp.topic, tp.partition, offset, 0.0, 0, [], b"k", b"v", None, tp=tp)


async def test_nothing_is_committed_before_a_seek_read_the_committed_offset(
    consumer: BatchDeliveryConsumer,
) -> None:
    """A revoke forgets the committed offset; Faust's own check then passes any run of acks."""
    acked(consumer, P0, 40, 41)
    assert consumer._new_offset(P0) is None
    await consumer.perform_seek()
    acked(consumer, P0, 40, 41)  # read again after the seek
    assert consumer._new_offset(P0) is None, "40 is not next to the committed 10"
    acked(consumer, P0, *range(10, 40))
    assert consumer._new_offset(P0) == 42


async def test_a_revoke_stops_commits_until_the_next_seek(
    consumer: BatchDeliveryConsumer,
) -> None:
    await consumer.perform_seek()
    await consumer.on_partitions_revoked({P0})
    acked(consumer, P0, 10, 11)
    assert consumer._new_offset(P0) is None
    acked(consumer, P1, 20)
    assert consumer._new_offset(P1) == 21, "a partition kept commits as before"


async def test_a_jump_is_read_again_and_acked_only_when_it_jumps_again(
    consumer: BatchDeliveryConsumer,
) -> None:
    thread = consumer._thread
    assert not await consumer.accept_jump(P0, 10, 50)
    assert thread.seeks == [(0, 10)]  # type: ignore[attr-defined]
    assert not consumer._gap[P0], "nothing acked yet"
    assert await consumer.accept_jump(P0, 10, 50), "the same jump again: the offsets are empty"
    assert [(gap.begin, gap.end) for gap in consumer._gap[P0]] == [(11, 51)]


async def test_delivery_holds_back_a_partition_that_jumped_and_goes_on_with_the_rest(
    consumer: BatchDeliveryConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumer.app.topics, "acks_enabled_for", lambda topic: True)
    delivered: list[tuple[int, int]] = []

    async def callback(msg: Message) -> None:
        delivered.append((msg.partition, msg.offset))

    consumer.callback = callback
    await consumer.perform_seek()  # read offsets 10 and 20
    batch = [(P0, message(P0, 50)), (P1, message(P1, 21)), (P0, message(P0, 51))]
    await consumer._deliver(batch, consumer.app.consumer_generation_id)
    assert delivered == [(1, 21)]
    assert consumer._read_offset[P0] == 10
    assert consumer._thread.seeks == [(0, 10)]  # type: ignore[attr-defined]


async def test_a_seek_voids_the_acks_made_before_it(consumer: BatchDeliveryConsumer) -> None:
    """Acks of messages Faust skipped at a revoke (never processed) must not fill the run
    from the committed offset that the seek reads back: all of it is read again."""
    acked(consumer, P0, *range(10, 30))
    await consumer.perform_seek()
    assert consumer._new_offset(P0) is None
    acked(consumer, P0, 10, 11)
    assert consumer._new_offset(P0) == 12


async def test_an_ack_from_an_older_generation_is_not_counted(
    consumer: BatchDeliveryConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumer.app.topics, "acks_enabled_for", lambda topic: True)
    await consumer.perform_seek()
    old = message(P0, 10)
    old.generation_id = consumer.app.consumer_generation_id
    consumer.app.consumer_generation_id += 1
    assert not consumer.ack(old)
    assert old.acked, "nothing waits for it"
    assert consumer._new_offset(P0) is None
    current = message(P0, 10)
    current.generation_id = consumer.app.consumer_generation_id
    assert consumer.ack(current)
    assert consumer._new_offset(P0) == 11


async def test_an_abandoned_message_is_neither_counted_nor_waited_for(
    consumer: BatchDeliveryConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stage that drops a batch at a rebalance leaves its events unacked; the stream may
    still hold the last one, and a revoke's ``wait_empty`` waits for every tracked message."""
    monkeypatch.setattr(consumer.app.topics, "acks_enabled_for", lambda topic: True)
    await consumer.perform_seek()
    dropped = message(P0, 10)
    dropped.generation_id = consumer.app.consumer_generation_id
    consumer.track_message(dropped)
    consumer.abandon(dropped)
    assert dropped not in consumer._unacked_messages
    assert not consumer.ack(dropped), "a later ack of it counts for nothing"
    assert consumer._new_offset(P0) is None
    await asyncio.wait_for(consumer.wait_empty(), timeout=5)


async def test_a_partition_delivers_nothing_between_its_assignment_and_its_seek(
    consumer: BatchDeliveryConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Faust resumes the flow before it seeks: a kept partition's fetch goes on past records
    never processed, which the seek brings back after; a claim counts records in order."""
    monkeypatch.setattr(consumer.app.topics, "acks_enabled_for", lambda topic: True)
    delivered: list[tuple[int, int]] = []

    async def callback(msg: Message) -> None:
        delivered.append((msg.partition, msg.offset))

    consumer.callback = callback
    changelog = TP("tmc.status", 0)
    monkeypatch.setattr(consumer, "_is_changelog_tp", lambda tp: tp == changelog)
    await consumer.perform_seek()
    await consumer.on_partitions_revoked({P0, changelog})  # assigned again; their seek comes later
    generation = consumer.app.consumer_generation_id
    batch = [(P0, message(P0, 16)), (P1, message(P1, 20)), (changelog, message(changelog, 3))]
    await consumer._deliver(batch, generation)
    assert delivered == [(1, 20), (0, 3)], "P0's records wait; a table's are read to restore it"
    await consumer.perform_seek()
    await consumer._deliver([(P0, message(P0, 10))], generation)
    assert delivered == [(1, 20), (0, 3), (0, 10)]


async def test_held_back_records_are_read_again_where_nothing_was_committed(
    consumer: BatchDeliveryConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no committed offset (or 0) the seek leaves the fetch where it is, past them."""
    monkeypatch.setattr(consumer, "_thread", ConsumerThread({P0: None, P1: 20}))  # type: ignore[dict-item]
    monkeypatch.setattr(consumer.app.topics, "acks_enabled_for", lambda topic: True)
    consumer.callback = recording_nothing
    generation = consumer.app.consumer_generation_id
    await consumer._deliver(
        [(P0, message(P0, 5)), (P0, message(P0, 6)), (P1, message(P1, 30))], generation
    )
    await consumer.perform_seek()
    assert consumer._thread.seeks == [(0, 5)], "P0 from its first held back; P1 from 20"  # type: ignore[attr-defined]


async def recording_nothing(msg: Message) -> None:
    raise AssertionError(f"delivered before the seek: {msg}")


async def test_a_closed_gate_holds_a_partition_until_the_gates_open_then_reads_it_again(
    consumer: BatchDeliveryConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Errors wait for their partition's catch-up in the consumer, not in an agent whose
    full buffer would block the results the catch-up needs; held, a partition keeps its order."""
    monkeypatch.setattr(consumer.app.topics, "acks_enabled_for", lambda topic: True)
    delivered: list[tuple[int, int]] = []

    async def callback(msg: Message) -> None:
        delivered.append((msg.partition, msg.offset))

    consumer.callback = callback
    await consumer.perform_seek()
    caught_up = {1}
    consumer.gate = lambda tp: tp.partition in caught_up
    generation = consumer.app.consumer_generation_id
    await consumer._deliver([(P0, message(P0, 10)), (P1, message(P1, 20))], generation)
    caught_up.add(0)  # P0's gate opens; its held record must still come first
    await consumer._deliver([(P0, message(P0, 11))], generation)
    assert delivered == [(1, 20)]
    await consumer.open_gates()
    assert consumer._thread.seeks == [(0, 10)]  # type: ignore[attr-defined]
    await consumer._deliver([(P0, message(P0, 10)), (P0, message(P0, 11))], generation)
    assert delivered == [(1, 20), (0, 10), (0, 11)]
