"""The stall rule, on its own: records waiting and no progress for a while; a stall when
nothing was in hand all along, a hold when the topic's agents held messages.

The watch around it (measuring through the broker, seeking through Faust) runs in every
real worker of tests/pipeline; a stalled partition there is logged and counted.
"""

from faust.types import TP

from streams.stall_watch import HOLDS_BEFORE_SEEK, Position, StallDetector, Verdict

A = TP("errors", 0)
B = TP("errors", 1)


def stalled(*tps: TP) -> Verdict:
    return Verdict(list(tps), [])


def held(*tps: TP) -> Verdict:
    return Verdict([], list(tps))


NOTHING = Verdict([], [])


def test_a_partition_with_records_waiting_and_no_progress_stalls_after_the_delay() -> None:
    detector = StallDetector(stall_after_s=15)
    waiting = {A: Position(next_offset=3, end=5, busy=False)}
    assert detector.observe(0.0, waiting) == NOTHING
    assert detector.observe(10.0, waiting) == NOTHING
    assert detector.observe(15.0, waiting) == stalled(A)


def test_a_stalled_partition_is_reported_once_per_delay_not_every_round() -> None:
    detector = StallDetector(stall_after_s=15)
    waiting = {A: Position(3, 5, False)}
    detector.observe(0.0, waiting)
    assert detector.observe(15.0, waiting) == stalled(A)
    assert detector.observe(20.0, waiting) == NOTHING
    assert detector.observe(30.0, waiting) == stalled(A)


def test_progress_or_an_empty_partition_is_never_reported() -> None:
    detector = StallDetector(stall_after_s=15)
    detector.observe(0.0, {A: Position(3, 9, False), B: Position(7, 7, False)})
    # A moves on each time; B has nothing waiting.
    for now, offset in ((14.0, 4), (28.0, 5), (42.0, 6)):
        positions = {A: Position(offset, 9, False), B: Position(7, 7, False)}
        assert detector.observe(now, positions) == NOTHING
    assert detector.observe(100.0, {A: Position(9, 9, False), B: Position(7, 7, False)}) == NOTHING


def test_no_progress_while_the_agents_hold_messages_is_a_hold_and_then_a_stall() -> None:
    detector = StallDetector(stall_after_s=15)
    busy = {A: Position(4, 9, True, held_from=4)}
    assert detector.observe(0.0, busy) == NOTHING
    assert detector.observe(15.0, busy) == held(A)
    assert detector.observe(20.0, busy) == NOTHING
    assert HOLDS_BEFORE_SEEK == 3
    assert detector.observe(30.0, busy) == held(A)
    # Held that many rounds in a row: no agent of ours waits so long, so it is a stall.
    assert detector.observe(45.0, busy) == stalled(A)
    assert detector.observe(60.0, busy) == held(A), "the count starts again after a seek"


def test_a_hold_ends_with_progress_or_when_the_agents_let_go() -> None:
    detector = StallDetector(stall_after_s=15)
    detector.observe(0.0, {A: Position(4, 9, True)})
    assert detector.observe(15.0, {A: Position(4, 9, True)}) == held(A)
    assert detector.observe(30.0, {A: Position(5, 9, True)}) == NOTHING, "it moved"
    assert detector.observe(45.0, {A: Position(5, 9, True)}) == held(A)
    # The agents are idle from 50 s on: the stall's delay starts there.
    assert detector.observe(50.0, {A: Position(5, 9, False)}) == NOTHING
    assert detector.observe(64.0, {A: Position(5, 9, False)}) == NOTHING
    assert detector.observe(65.0, {A: Position(5, 9, False)}) == stalled(A)


def test_a_seek_restarts_at_what_is_held_and_never_acked() -> None:
    assert Position(7, 9, False).seek_to == 7
    assert Position(7, 9, True, held_from=5).seek_to == 5


def test_a_rebalance_forgets_what_was_measured_before() -> None:
    detector = StallDetector(stall_after_s=15)
    detector.observe(0.0, {A: Position(3, 5, False)})
    detector.reset()
    assert detector.observe(15.0, {A: Position(3, 5, False)}) == NOTHING
    assert detector.observe(30.0, {A: Position(3, 5, False)}) == stalled(A)


def test_a_partition_no_longer_owned_is_forgotten() -> None:
    detector = StallDetector(stall_after_s=15)
    detector.observe(0.0, {A: Position(3, 5, False)})
    detector.observe(10.0, {})
    assert detector.observe(15.0, {A: Position(3, 5, False)}) == NOTHING
