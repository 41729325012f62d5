"""A triage batch: what it holds, and whether it is reading a backlog (the rule that keeps it
open under a storm and closes it at once when the worker is caught up)."""

from faust.types import TP

from streams.triage.batch import Outgoing, TriageBatch


class _Message:
    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self.topic, self.partition, self.offset = topic, partition, offset
        self.tp = TP(topic, partition)


class _Event:
    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self.message = _Message(topic, partition, offset)


def _batch(*events: tuple[str, int, int]) -> TriageBatch:
    batch = TriageBatch(epoch=1, opened=0.0)
    for topic, partition, offset in events:
        batch.add(_Event(topic, partition, offset), [])  # type: ignore[arg-type]
    return batch


def test_the_latest_event_of_each_partition_is_kept_for_its_writes() -> None:
    batch = _batch(("errors", 0, 5), ("errors", 1, 9), ("triage", 0, 2))
    assert len(batch) == 3
    assert {p: e.message.offset for p, e in batch.last_event_of.items()} == {0: 2, 1: 9}


def test_records_wait_in_the_outbox_in_order() -> None:
    batch = TriageBatch(epoch=1, opened=0.0)
    first, second = Outgoing(None, b"k", b"1"), Outgoing(None, b"k", b"2")  # type: ignore[arg-type]
    batch.add(_Event("errors", 0, 1), [first])  # type: ignore[arg-type]
    batch.add(_Event("errors", 0, 2), [second])  # type: ignore[arg-type]
    assert batch.outbox == [first, second]


def test_behind_while_the_broker_holds_more_than_was_read() -> None:
    batch = _batch(("errors", 0, 5), ("errors", 1, 9))
    caught_up = {TP("errors", 0): 6, TP("errors", 1): 10}
    assert not batch.behind(caught_up.get)
    assert batch.behind({**caught_up, TP("errors", 1): 11}.get)
    unknown: dict[TP, int] = {}
    assert not batch.behind(unknown.get), "no highwater known yet: not behind"


def test_a_batch_is_merging_while_its_errors_send_less_than_one_record_each() -> None:
    """Only then does growing save writes; a batch of new recoveries closes at its linger."""
    start = [Outgoing(None, b"k", b"pending"), Outgoing(None, b"k", b"request")]  # type: ignore[arg-type]
    batch = TriageBatch(epoch=1, opened=0.0)
    batch.add(_Event("errors", 0, 1), start)  # type: ignore[arg-type]
    batch.add(_Event("errors", 0, 2), start)  # type: ignore[arg-type]
    assert not batch.merging(), "two new recoveries"
    for offset in range(3, 6):
        batch.add(_Event("errors", 0, offset), [])  # type: ignore[arg-type]
    assert batch.merging(), "4 records out for 5 errors: three merged"
