"""client-go's EventCorrelator: identical events raise one Event's count; from the tenth
distinct message of similar events within 10 minutes they become one combined Event."""

import dataclasses
from datetime import UTC, datetime, timedelta

from schemas.records import EventMeta, EventSource, EventType, ObjectReference, RecoveryEvent
from streams.events.correlator import EventCorrelator

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
    written = [correlator.correlate(event("same", s)) for s in range(12)]
    assert [e.count for e in written] == list(range(1, 13))
    assert {e.metadata.name for e in written} == {"edge-1.0"}
    assert written[-1].first_timestamp == T0
    assert written[-1].last_timestamp == T0 + timedelta(seconds=11)


def test_a_repeat_read_out_of_time_order_only_widens_the_span() -> None:
    correlator = EventCorrelator()
    correlator.correlate(event("same", 0.002))
    earlier = correlator.correlate(event("same", 0.001))
    assert (earlier.first_timestamp, earlier.last_timestamp) == (
        T0 + timedelta(seconds=0.001), T0 + timedelta(seconds=0.002),
    )  # fmt: skip


def test_the_tenth_distinct_similar_event_starts_one_combined_event_with_a_rising_count() -> None:
    correlator = EventCorrelator()
    written = [correlator.correlate(event(f"object {n} is gone", n)) for n in range(13)]
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
    other_reason = correlator.correlate(event("gone 9", 9, reason="RecoveryCancelled"))
    other_object = correlator.correlate(
        dataclasses.replace(event("gone 9", 9), involved_object=ObjectReference("SyncTarget", "x"))
    )
    after_quiet = correlator.correlate(event("gone 10", 9 + 601))
    for written in (other_reason, other_object, after_quiet):
        assert (written.count, written.message.startswith("(combined")) == (1, False)
