"""Which Events `watch` shows under its filters, without Kafka: those an Event can be checked
against itself, and those only its recovery's results can judge (held until one is shown)."""

from schemas.records import RecoveryEvent, RecoveryState
from streams.cli.watch_events import Joined, event_matches
from streams.clients import ResultFilter
from streams.events.shape import event_of
from tests.schemas.examples import recovery_result

S = RecoveryState


def event(cluster: str, recovery_id: str, state: RecoveryState = S.COMPLETED) -> RecoveryEvent:
    made = event_of(recovery_result(cluster, recovery_id=recovery_id, state=state), "w1")
    assert made is not None
    return made


def test_an_event_is_checked_by_its_cluster_strategy_state_and_recovery() -> None:
    done = event("edge-1", "rec-1")
    assert event_matches(ResultFilter(), done)
    assert event_matches(ResultFilter(clusters=frozenset({"edge-1"})), done)
    assert not event_matches(ResultFilter(clusters=frozenset({"edge-2"})), done)
    assert event_matches(ResultFilter(strategies=frozenset({"ClusterConnectivity"})), done)
    assert not event_matches(ResultFilter(strategies=frozenset({"Migration"})), done)
    assert event_matches(ResultFilter(states=frozenset({S.COMPLETED})), done)
    assert not event_matches(ResultFilter(states=frozenset({S.ESCALATED})), done)
    assert event_matches(
        ResultFilter(states=frozenset({S.ESCALATED})), event("e", "r", S.ESCALATED)
    )
    assert not event_matches(ResultFilter(recovery_ids=frozenset({"rec-2"})), done)


def test_under_a_filter_events_cannot_check_they_wait_for_their_recoverys_result() -> None:
    plain = Joined(ResultFilter(clusters=frozenset({"edge-1"})))
    first = event("edge-1", "rec-1")
    assert plain.event(first) == [first], "nothing to wait for"

    joined = Joined(ResultFilter(logical_clusters=frozenset({"root:edge"})))
    other = event("edge-2", "rec-2")
    assert joined.event(first) == []
    assert joined.event(other) == []
    shown = recovery_result("edge-1", recovery_id="rec-1")
    assert joined.result(shown) == [first], "released after its result"
    later = event("edge-1", "rec-1", S.CANCELLED)
    assert joined.event(later) == [later], "its recovery is shown: at once"
    assert joined.result(recovery_result("edge-3", recovery_id="rec-3")) == []
