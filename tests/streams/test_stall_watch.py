"""The stall rule, on its own: records waiting, nothing in hand, no progress for a while.

The watch around it (measuring through the broker, seeking through Faust) runs in every
real worker of tests/pipeline; a stalled partition there is logged and counted.
"""

from faust.types import TP

from streams.stall_watch import Position, StallDetector

A = TP("errors", 0)
B = TP("errors", 1)


def test_a_partition_with_records_waiting_and_no_progress_stalls_after_the_delay() -> None:
    detector = StallDetector(stall_after_s=15)
    waiting = {A: Position(next_offset=3, end=5, busy=False)}
    assert detector.observe(0.0, waiting) == []
    assert detector.observe(10.0, waiting) == []
    assert detector.observe(15.0, waiting) == [A]


def test_a_stalled_partition_is_reported_once_per_delay_not_every_round() -> None:
    detector = StallDetector(stall_after_s=15)
    waiting = {A: Position(3, 5, False)}
    detector.observe(0.0, waiting)
    assert detector.observe(15.0, waiting) == [A]
    assert detector.observe(20.0, waiting) == []
    assert detector.observe(30.0, waiting) == [A]


def test_progress_a_busy_agent_or_an_empty_partition_is_never_a_stall() -> None:
    detector = StallDetector(stall_after_s=15)
    detector.observe(0.0, {A: Position(3, 9, False), B: Position(7, 7, False)})
    # A moves on; B has nothing waiting.
    assert detector.observe(14.0, {A: Position(4, 9, False), B: Position(7, 7, False)}) == []
    # A stands still while its agent holds messages: slow, not stalled.
    assert detector.observe(29.0, {A: Position(4, 9, True), B: Position(7, 7, False)}) == []
    assert detector.observe(40.0, {A: Position(4, 9, True), B: Position(7, 7, False)}) == []
    # The agent is idle from 40 s on: the delay starts again there.
    assert detector.observe(41.0, {A: Position(4, 9, False), B: Position(7, 7, False)}) == []
    assert detector.observe(54.0, {A: Position(4, 9, False), B: Position(7, 7, False)}) == []
    assert detector.observe(55.0, {A: Position(4, 9, False), B: Position(7, 7, False)}) == [A]


def test_a_rebalance_forgets_what_was_measured_before() -> None:
    detector = StallDetector(stall_after_s=15)
    detector.observe(0.0, {A: Position(3, 5, False)})
    detector.reset()
    assert detector.observe(15.0, {A: Position(3, 5, False)}) == []
    assert detector.observe(30.0, {A: Position(3, 5, False)}) == [A]


def test_a_partition_no_longer_owned_is_forgotten() -> None:
    detector = StallDetector(stall_after_s=15)
    detector.observe(0.0, {A: Position(3, 5, False)})
    detector.observe(10.0, {})
    assert detector.observe(15.0, {A: Position(3, 5, False)}) == []
