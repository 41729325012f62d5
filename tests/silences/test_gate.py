"""The silence gate at triage (pure logic over plain dicts standing in for the tables): a
covered error becomes a Suppressed recovery whose claim absorbs later errors only while the
silence lasts; a recovery already running is not touched by a later silence."""

import json
from dataclasses import replace

from schemas.records import ErrorType, TMCError
from streams.silences.state import SilenceSet
from streams.triage.decide import Duplicate, Merge, Start, Suppress, decide
from streams.triage.ids import RETRY_OF
from streams.triage.rows import TargetClaim
from tests.silences.test_state import HOUR, T0, silence
from tests.streams.triage.test_triage import _dedup, _rebuilt, _registry, _unreachable, src

CONNECTIVITY = "ClusterConnectivity"
START = T0.timestamp()
PROD = SilenceSet().apply("s1", silence("s1", 1, logical_cluster="root:prod"))


def prod_error(cluster: str = "edge-1", logical: str = "root:prod:team-a") -> TMCError:
    return replace(_unreachable(cluster), logical_cluster=logical)


def test_a_covered_error_is_suppressed_and_later_ones_merge_into_it() -> None:
    dedup, registry = _dedup(), _registry()
    first = decide(prod_error(), registry, dedup, START, src(), silences=PROD)
    assert isinstance(first, Suppress)
    assert (first.strategy, first.target, first.silence.id) == (CONNECTIVITY, "edge-1", "s1")
    for minute in (1, 30, 59):
        later = decide(prod_error(), registry, dedup, START + 60 * minute, src(), silences=PROD)
        assert later == Merge(first.recovery_id, CONNECTIVITY, "edge-1", "s1")
    claim = dedup.current_claim(CONNECTIVITY, "edge-1")
    assert claim is not None
    assert claim.merged_count == 3
    assert not claim.active


def test_a_cluster_outside_the_silence_starts_a_recovery() -> None:
    error = prod_error("dev-1", "root:dev")
    assert isinstance(decide(error, _registry(), _dedup(), START, src(), silences=PROD), Start)


def test_after_the_expiry_the_next_error_starts_a_recovery() -> None:
    dedup, registry = _dedup(), _registry()
    first = decide(prod_error(), registry, dedup, START, src(), silences=PROD)
    after = decide(prod_error(), registry, dedup, START + 3600, src(), silences=PROD)
    assert isinstance(after, Start)
    assert after.recovery_id != first.recovery_id


def test_expired_early_the_suppressed_claim_stops_absorbing_at_once() -> None:
    dedup, registry = _dedup(), _registry()
    decide(prod_error(), registry, dedup, START, src(), silences=PROD)
    ended = PROD.apply("s1", replace(PROD.silences["s1"], expires_at=T0 + HOUR / 4))
    at = START + 60 * 20  # before the silence's original expiry, after its early end
    assert isinstance(decide(prod_error(), registry, dedup, at, src(), silences=ended), Start)
    gone = PROD.apply("s1", None)
    dedup = _dedup()
    decide(prod_error(), registry, dedup, START, src(), silences=PROD)
    assert isinstance(decide(prod_error(), registry, dedup, START + 1, src(), silences=gone), Start)


def test_a_recovery_already_running_is_not_touched_by_a_later_silence() -> None:
    dedup, registry = _dedup(), _registry()
    started = decide(prod_error(), registry, dedup, START, src())
    assert isinstance(started, Start)
    later = decide(prod_error(), registry, dedup, START + 60, src(), silences=PROD)
    assert later == Merge(started.recovery_id, CONNECTIVITY, "edge-1", None)


def test_an_operators_retry_is_not_silenced() -> None:
    error = replace(prod_error(), context={RETRY_OF: "r-old"})
    assert isinstance(decide(error, _registry(), _dedup(), START, src(), silences=PROD), Start)


def test_an_error_nothing_may_act_on_is_suppressed_instead_of_escalated() -> None:
    builder = TMCError.build(ErrorType.RESOURCE_NOT_FOUND, "syncer", "get")
    error = replace(builder.with_cluster("edge-1").build(), logical_cluster="root:prod")
    decision = decide(error, _registry(), _dedup(), START, src(), silences=PROD)
    assert isinstance(decision, Suppress)
    assert decision.strategy == "none"
    by_strategy = SilenceSet().apply("s2", silence("s2", 1, strategy=CONNECTIVITY))
    decision = decide(error, _registry(), _dedup(), START, src(), silences=by_strategy)
    assert not isinstance(decision, Suppress), "a strategy matcher covers that strategy only"


def test_the_suppressed_claim_survives_a_rebuild_and_a_redelivery_is_not_counted_twice() -> None:
    dedup, registry = _dedup(), _registry()
    source = src()
    error = replace(prod_error(), event_id="e-1")
    first = decide(error, registry, dedup, START, source, silences=PROD)
    assert isinstance(first, Suppress)
    dedup.state.flush(START)
    rebuilt = _rebuilt(dedup)
    again = decide(error, registry, rebuilt, START + 1, source, silences=PROD)
    assert again == Duplicate("e-1", first.recovery_id, redelivery=True)
    merged = decide(prod_error(), registry, rebuilt, START + 2, src(), silences=PROD)
    assert merged == Merge(first.recovery_id, CONNECTIVITY, "edge-1", "s1")


def test_a_redelivery_whose_claim_write_was_lost_suppresses_its_claim_again() -> None:
    dedup, registry = _dedup(), _registry()
    source = src()
    error = replace(prod_error(), event_id="e-1")
    first = decide(error, registry, dedup, START, source, silences=PROD)
    dedup.state.flush(START)
    key = dedup.claim_key(CONNECTIVITY, "edge-1")
    del dedup.state.claim_rows[key]  # the crash kept the seen row, lost the claim
    rebuilt = _rebuilt(dedup)
    again = decide(error, registry, rebuilt, START + 1, source, silences=PROD)
    assert again == Duplicate("e-1", first.recovery_id, redelivery=True)
    claim = rebuilt.current_claim(CONNECTIVITY, "edge-1")
    assert claim is not None
    assert claim.silence == "s1"
    assert not claim.active


def test_the_claim_row_keeps_its_silence_and_reads_rows_without_one() -> None:
    claim = TargetClaim("r1", False, 5.0, ("e1",), 1, {"t": 3}, silence="s1")
    assert TargetClaim.decode(claim.encode()) == claim
    assert TargetClaim.decode(claim.with_merge("e2", "t", 4).encode()).silence == "s1"
    assert json.loads(claim.encode())[0] == 2, "a format of its own: older workers refuse it"
    plain = TargetClaim("r2")
    assert TargetClaim.decode(plain.encode()) == plain
    assert json.loads(plain.encode()) == [1, "r2", True, None, [], 0, {}], "as before silences"
