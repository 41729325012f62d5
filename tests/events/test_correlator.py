"""client-go's EventCorrelator: identical events raise one Event's count; from the tenth
distinct message of similar events within 10 minutes they become one combined Event; past the
spam filter's burst, an object's events are dropped, their count carried by the next one."""

import dataclasses
from datetime import UTC, datetime, timedelta

from schemas.records import EventMeta, EventSource, EventType, ObjectReference, RecoveryEvent
from streams.events.correlator import EventCorrelator
from streams.events.spam import SpamFilter, Verdict

T0 = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def event(message: str, seconds: float, reason: str = "RecoveryFailed") -> RecoveryEvent:
    at = T0 + timedelta(seconds=seconds)
    return RecoveryEvent(
        metadata=EventMeta(name=f"edge-1.{seconds}"),
        involved_object=ObjectReference(kind="SyncTarget", name="edge-1"),
        reason=reason,
        message=message,
        type=EventType.WARNING,
        first_timestamp=at,
        last_timestamp=at,
        source=EventSource("tmc-recovery", "w1"),
    )


def test_a_repeat_raises_the_count_of_the_event_already_written() -> None:
    correlator = EventCorrelator()
    written = [correlator.correlate(event("same", s)).event for s in range(12)]
    assert [e.count for e in written] == list(range(1, 13))
    assert {e.metadata.name for e in written} == {"edge-1.0"}
    assert written[-1].first_timestamp == T0
    assert written[-1].last_timestamp == T0 + timedelta(seconds=11)


def test_a_repeat_read_out_of_time_order_only_widens_the_span() -> None:
    correlator = EventCorrelator()
    correlator.correlate(event("same", 0.002))
    earlier = correlator.correlate(event("same", 0.001)).event
    assert (earlier.first_timestamp, earlier.last_timestamp) == (
        T0 + timedelta(seconds=0.001), T0 + timedelta(seconds=0.002),
    )  # fmt: skip


def test_the_tenth_distinct_similar_event_starts_one_combined_event_with_a_rising_count() -> None:
    correlator = EventCorrelator()
    written = [correlator.correlate(event(f"object {n} is gone", n)).event for n in range(13)]
    alone, combined = written[:9], written[9:]
    assert all(e.count == 1 and not e.message.startswith("(combined") for e in alone)
    assert len({e.metadata.name for e in alone}) == 9
    assert [e.count for e in combined] == [1, 2, 3, 4]
    assert len({e.metadata.name for e in combined}) == 1
    assert combined[-1].message == "(combined from similar events): object 12 is gone"
    assert combined[-1].first_timestamp == T0 + timedelta(seconds=9)
    assert combined[-1].last_timestamp == T0 + timedelta(seconds=12)


def test_other_reasons_objects_and_a_quiet_interval_are_not_similar() -> None:
    correlator = EventCorrelator()
    for n in range(9):
        correlator.correlate(event(f"gone {n}", n))
    other_reason = correlator.correlate(event("gone 9", 9, reason="RecoveryCancelled")).event
    other_object = correlator.correlate(
        dataclasses.replace(event("gone 9", 9), involved_object=ObjectReference("SyncTarget", "x"))
    ).event
    after_quiet = correlator.correlate(event("gone 10", 9 + 601)).event
    for written in (other_reason, other_object, after_quiet):
        assert (written.count, written.message.startswith("(combined")) == (1, False)


def test_past_the_burst_events_are_dropped_and_the_next_written_carries_their_count() -> None:
    correlator = EventCorrelator(spam=SpamFilter(burst=3, refill_s=60))
    verdicts = [correlator.correlate(event("same", s)).verdict for s in range(6)]
    assert verdicts == [Verdict.WRITE] * 3 + [Verdict.DROP] + [Verdict.DROP_AGAIN] * 2
    after_refill = correlator.correlate(event("same", 5 + 60))
    assert (after_refill.verdict, after_refill.event.count) == (Verdict.WRITE, 7)
    assert after_refill.event.metadata.name == "edge-1.0"


def test_the_spam_filter_is_per_object_across_reasons() -> None:
    correlator = EventCorrelator(spam=SpamFilter(burst=2, refill_s=60))
    started = correlator.correlate(event("started", 0, reason="RecoveryStarted")).verdict
    failed = correlator.correlate(event("failed", 1)).verdict
    third = correlator.correlate(event("cancelled", 2, reason="RecoveryCancelled")).verdict
    elsewhere = correlator.correlate(
        dataclasses.replace(event("failed", 2), involved_object=ObjectReference("SyncTarget", "x"))
    ).verdict
    assert (started, failed, third, elsewhere) == (
        Verdict.WRITE, Verdict.WRITE, Verdict.DROP, Verdict.WRITE,
    )  # fmt: skip
