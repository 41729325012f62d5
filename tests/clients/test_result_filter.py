"""Which recovery results a subscriber lets through, without a broker."""

import dataclasses

from schemas.records import RecoveryState
from streams.clients import ResultFilter
from tests.schemas.examples import recovery_result

RESULT = recovery_result("edge-1", strategy="Generic", state=RecoveryState.FAILED)


def test_an_empty_filter_lets_everything_through() -> None:
    assert ResultFilter().matches(RESULT)
    assert ResultFilter().may_match_key(None)


def test_every_set_criterion_must_match() -> None:
    assert ResultFilter(clusters=frozenset({"edge-1", "edge-2"})).matches(RESULT)
    assert not ResultFilter(clusters=frozenset({"edge-2"})).matches(RESULT)
    assert ResultFilter(logical_clusters=frozenset({"root:edge"})).matches(RESULT)
    assert not ResultFilter(logical_clusters=frozenset({"root:other"})).matches(RESULT)
    assert ResultFilter(strategies=frozenset({"Generic"})).matches(RESULT)
    assert not ResultFilter(strategies=frozenset({"ClusterConnectivity"})).matches(RESULT)
    assert ResultFilter(states=frozenset({RecoveryState.FAILED})).matches(RESULT)
    assert not ResultFilter(states=frozenset({RecoveryState.COMPLETED})).matches(RESULT)
    both = ResultFilter(clusters=frozenset({"edge-1"}), strategies=frozenset({"Other"}))
    assert not both.matches(RESULT)


def test_the_cluster_falls_back_to_the_error_when_the_context_has_none() -> None:
    result = dataclasses.replace(
        RESULT, context=dataclasses.replace(RESULT.context, cluster_name=None)
    )
    assert ResultFilter(clusters=frozenset({"edge-1"})).matches(result)


def test_the_key_prefilter_skips_other_clusters_without_decoding() -> None:
    only_edge_1 = ResultFilter(clusters=frozenset({"edge-1"}))
    assert only_edge_1.may_match_key(b"edge-1")
    assert not only_edge_1.may_match_key(b"edge-2")
    assert not only_edge_1.may_match_key(None)


def test_recovery_ids_and_event_ids_pick_one_recovery() -> None:
    merged = dataclasses.replace(RESULT, merged_error_ids=("joined-1", "joined-2"))
    assert ResultFilter(recovery_ids=frozenset({RESULT.id})).matches(RESULT)
    assert not ResultFilter(recovery_ids=frozenset({"other"})).matches(RESULT)
    assert ResultFilter(event_ids=frozenset({str(RESULT.error.event_id)})).matches(RESULT)
    assert ResultFilter(event_ids=frozenset({"joined-2", "x"})).matches(merged)
    assert not ResultFilter(event_ids=frozenset({"joined-2"})).matches(RESULT)
