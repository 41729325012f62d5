"""Triage's open batch across a rebalance (streams/triage/agent.py), over stand-ins for the
pipeline: which events a dropped batch abandons, and which go on to be acked."""

from types import SimpleNamespace
from typing import Any

from streams.config import ServiceSettings
from streams.triage.agent import Triage
from streams.triage.batch import Outgoing


class Consumer:
    """Notes the messages abandoned to it."""

    def __init__(self) -> None:
        self.abandoned: list[Any] = []

    def abandon(self, message: Any) -> None:
        self.abandoned.append(message)


def event(consumer: Consumer, offset: int) -> Any:
    return SimpleNamespace(
        message=SimpleNamespace(partition=0, offset=offset, tp=("tmc.errors", 0)),
        app=SimpleNamespace(consumer=consumer),
    )


async def test_a_batch_begun_before_a_rebalance_takes_no_later_event() -> None:
    """A backlog keeps a batch open past its linger, across a rebalance; its drop must not
    take the events read after the rebalance with it: no seek would read those again."""
    dedup_state = SimpleNamespace(epoch=1)
    p = SimpleNamespace(
        settings=ServiceSettings(), tables=SimpleNamespace(guards={}), dedup_state=dedup_state
    )
    triage = Triage(p, silences=None)  # type: ignore[arg-type]
    consumer = Consumer()
    before, after = event(consumer, 10), event(consumer, 11)
    await triage.add(before, [], epoch=1)
    dedup_state.epoch = 2  # a rebalance: the dedup state is read again

    await triage.add(after, [], epoch=2)

    assert consumer.abandoned == [before.message], "the old batch is dropped, and only it"
    assert triage._open is not None
    assert triage._open.events == [after], "the later event is in a batch of its own"


async def test_a_batch_sends_what_it_decided_only_once_its_state_is_on_the_broker() -> None:
    """Records sent before the state's changelog records are delivered could outlive a kill
    that loses the state: the errors, read again, would start their recoveries again."""
    done: list[str] = []

    class Partition:
        def flush(self, now: float) -> list[Any]:
            done.append("state written")
            return []

    async def producer_flush() -> None:
        done.append("producer flushed")

    async def send(key: bytes, value: bytes) -> None:
        done.append(f"sent {value.decode()}")

    p = SimpleNamespace(
        settings=ServiceSettings(),
        tables=SimpleNamespace(guards={}),
        dedup_state=SimpleNamespace(epoch=1, partition=lambda n: Partition()),
        clock=lambda: 100.0,
        app=SimpleNamespace(producer=SimpleNamespace(flush=producer_flush)),
    )
    triage = Triage(p, silences=None)  # type: ignore[arg-type]
    results = SimpleNamespace(send=send)

    class Event:  # weakly referenced while it is the current event
        message = event(Consumer(), 10).message

        def ack(self) -> None:
            done.append("acked")

    await triage.add(Event(), [Outgoing(results, b"k", b"Pending")], epoch=1)  # type: ignore[arg-type]

    await triage._close_open()

    assert done == ["state written", "producer flushed", "sent Pending", "acked"]


async def test_a_backlog_keeps_open_only_a_batch_of_merges() -> None:
    """The broker holds more than was read in both cases; only merges gain by a longer batch."""
    consumer = Consumer()
    p = SimpleNamespace(
        settings=ServiceSettings(),
        tables=SimpleNamespace(guards={}),
        dedup_state=SimpleNamespace(epoch=1),
        app=SimpleNamespace(consumer=SimpleNamespace(highwater=lambda tp: 1_000)),
    )
    new_recovery = [Outgoing(None, b"k", b"pending"), Outgoing(None, b"k", b"request")]  # type: ignore[arg-type]
    starting = Triage(p, silences=None)  # type: ignore[arg-type]
    merging = Triage(p, silences=None)  # type: ignore[arg-type]
    for offset in range(10):
        await starting.add(event(consumer, offset), new_recovery, epoch=1)
        await merging.add(event(consumer, offset), [], epoch=1)

    assert not starting._reading_a_backlog(), "new recoveries: closed at the linger"
    assert merging._reading_a_backlog()
