"""The hand-made batches both stages share: when a batch keeps growing while a backlog is read."""

import time
from types import SimpleNamespace
from typing import Any

from faust.types import TP

from streams.batching import EventBatch, reading_a_backlog

ERRORS = [TP("tmc.errors", p) for p in range(2)]


def event(tp: TP, offset: int, timestamp: float | None) -> Any:
    message = SimpleNamespace(tp=tp, partition=tp.partition, offset=offset, timestamp=timestamp)
    return SimpleNamespace(message=message)


def batch_read_to(
    *offsets: int, opened: float | None = None, written_s_ago: float | None = 60.0
) -> EventBatch:
    """A batch that read to ``offsets``; its records written ``written_s_ago`` (None: records
    without a timestamp)."""
    batch = EventBatch(0, time.monotonic() if opened is None else opened)
    written = None if written_s_ago is None else time.time() - written_s_ago
    for tp, offset in zip(ERRORS, offsets, strict=False):
        batch.add_event(event(tp, offset, written))
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


def test_a_batch_grows_no_longer_than_the_worker_is_behind() -> None:
    """A worker that keeps up still sees a few records in flight: its batch closes once it has
    been open as long as its last record is old, not at the backlog's wait."""
    ends = {ERRORS[0]: 10}
    opened_30_ms_ago = time.monotonic() - 0.03
    assert reading_a_backlog(
        batch_read_to(0, opened=opened_30_ms_ago, written_s_ago=2), 5.0, ends.get
    )
    assert not reading_a_backlog(
        batch_read_to(0, opened=opened_30_ms_ago, written_s_ago=0.02), 5.0, ends.get
    )


def test_records_without_a_timestamp_keep_the_wait() -> None:
    ends = {ERRORS[0]: 10}
    opened_1_s_ago = time.monotonic() - 1
    assert reading_a_backlog(
        batch_read_to(0, opened=opened_1_s_ago, written_s_ago=None), 5.0, ends.get
    )
    no_time = batch_read_to(opened=opened_1_s_ago)
    no_time.add_event(event(ERRORS[0], 0, -1.0))  # a client that sets no timestamp: -1
    assert reading_a_backlog(no_time, 5.0, ends.get)
