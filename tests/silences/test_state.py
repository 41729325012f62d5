"""Which silence covers an error (pure logic): every set matcher must match, a logical cluster
covers those under it at a ':' boundary, and a silence counts only between start and expiry."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.codec import RecordCodec
from schemas.records import ErrorType, Silence, SilenceMatchers, TMCError
from streams.silences.state import SilenceSet, status, suppressed_reason

T0 = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def error(cluster: str = "edge-1", logical: str = "root:prod:team-a") -> TMCError:
    builder = TMCError.build(ErrorType.CLUSTER_UNREACHABLE, "syncer", "heartbeat")
    return replace(builder.with_cluster(cluster).build(), logical_cluster=logical)


def silence(sid: str = "s1", hours: float = 1, **matchers: Any) -> Silence:
    until = T0 + hours * HOUR
    return Silence(sid, SilenceMatchers(**matchers), "maintenance", "alice", T0, until, T0)


def test_a_logical_cluster_covers_itself_and_those_under_it_only() -> None:
    prod = silence(logical_cluster="root:prod").matchers
    assert prod.covers(error(logical="root:prod"), "ClusterConnectivity")
    assert prod.covers(error(logical="root:prod:team-a"), "ClusterConnectivity")
    assert not prod.covers(error(logical="root:production"), "ClusterConnectivity")
    assert not prod.covers(error(logical="root"), "ClusterConnectivity")
    assert not prod.covers(replace(error(), logical_cluster=None), "ClusterConnectivity")


def test_every_set_matcher_must_match() -> None:
    m = silence(cluster_name="edge-1", strategy="ClusterConnectivity", component="syncer").matchers
    assert m.covers(error(), "ClusterConnectivity")
    assert not m.covers(error(cluster="edge-2"), "ClusterConnectivity")
    assert not m.covers(error(), "Generic")
    assert not m.covers(error(), None), "no strategy may act: a strategy matcher does not match"
    assert not m.covers(replace(error(), component="placement"), "ClusterConnectivity")
    assert silence(error_type=ErrorType.CLUSTER_UNREACHABLE).matchers.covers(error(), None)
    assert not silence(error_type=ErrorType.SYNC_FAILURE).matchers.covers(error(), None)


def test_a_silence_counts_from_its_start_until_its_expiry() -> None:
    later = replace(silence(hours=3), starts_at=T0 + HOUR)
    assert not later.matches(error(), None, T0)
    assert status(later, T0) == "pending"
    assert later.matches(error(), None, T0 + HOUR)
    assert status(later, T0 + HOUR) == "active"
    assert not later.matches(error(), None, T0 + 3 * HOUR)
    assert status(later, T0 + 3 * HOUR) == "expired"


def test_of_several_covering_silences_the_longest_lasting_is_chosen() -> None:
    state = SilenceSet()
    for s in (silence("short", 1), silence("long", 5), silence("other", 9, cluster_name="x")):
        state = state.apply(s.id, s)
    chosen = state.covering(error(), "ClusterConnectivity", T0)
    assert chosen is not None
    assert chosen.id == "long"
    assert state.active("long", T0)
    assert not state.active("gone", T0)
    state = state.apply("long", None)
    chosen = state.covering(error(), "ClusterConnectivity", T0)
    assert chosen is not None
    assert chosen.id == "short", "a tombstone removes it"


def test_the_listing_keeps_expired_silences_for_the_retention_then_they_are_due() -> None:
    state = SilenceSet().apply("a", silence("a", 1)).apply("b", silence("b", 10))
    at = T0 + 2 * HOUR
    listed = state.listing(at, retention=HOUR * 2)
    assert [(s["id"], s["status"]) for s in listed] == [("b", "active"), ("a", "expired")]
    assert listed[1]["matchers"] == {}
    assert [s["id"] for s in state.listing(at + HOUR * 2, retention=HOUR * 2)] == ["b"]
    assert [s.id for s in state.ended(at + HOUR * 2, retention=HOUR * 2)] == ["a"]
    assert state.ended(at, retention=HOUR * 2) == []


def test_the_reason_names_the_silence_its_creator_and_why() -> None:
    reason = suppressed_reason(silence("s9"))
    assert reason == (
        "suppressed by silence s9 (created by alice: maintenance) until 2026-12-01T19:00:00+00:00"
    )


def test_v2_round_trips_with_its_start_and_component() -> None:
    codec = RecordCodec(Silence)
    s = replace(silence(component="syncer", logical_cluster="root:prod"), starts_at=T0 + HOUR)
    assert codec.decode(codec.encode(s)) == s
