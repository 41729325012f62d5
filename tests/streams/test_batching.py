"""The hand-made batches both stages share: when a batch keeps growing while a backlog is read."""

import time
from types import SimpleNamespace
from typing import Any

from faust.types import TP

from streams.batching import EventBatch, reading_a_backlog

ERRORS = [TP("tmc.errors", p) for p in range(2)]


def event(tp: TP, offset: int) -> Any:
    return SimpleNamespace(message=SimpleNamespace(tp=tp, partition=tp.partition, offset=offset))


def batch_read_to(*offsets: int, opened: float | None = None) -> EventBatch:
    batch = EventBatch(0, time.monotonic() if opened is None else opened)
    for tp, offset in zip(ERRORS, offsets, strict=False):
        batch.add_event(event(tp, offset))
    return batch


def test_a_batch_grows_while_any_of_its_partitions_holds_more_than_it_read() -> None:
    ends = {ERRORS[0]: 10, ERRORS[1]: 5}
    assert reading_a_backlog(batch_read_to(9, 3), 5.0, ends.get)  # partition 1: 4 unread
    assert not reading_a_backlog(batch_read_to(9, 4), 5.0, ends.get)  # both read to the end


def test_a_batch_stops_growing_at_its_wait_or_without_a_known_end() -> None:
    ends = {ERRORS[0]: 10}
    assert not reading_a_backlog(batch_read_to(0, opened=time.monotonic() - 6), 5.0, ends.get)
    unknown: dict[TP, int] = {}
    assert not reading_a_backlog(batch_read_to(0), 5.0, unknown.get)  # no fetch answered yet
    assert not reading_a_backlog(None, 5.0, ends.get)
