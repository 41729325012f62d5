"""The circuit breaker and flap damping rules, and the gates they make at triage (pure logic
over plain dicts standing in for the tables)."""

import dataclasses
import itertools
from datetime import UTC, datetime

import pytest

from schemas.records import (
    RecoveryOutcome,
    RecoveryResult,
    RecoveryState,
    StateTransition,
    TMCError,
)
from streams.config import CircuitBreakerSettings, DedupSettings, FlapDampingSettings
from streams.execution.lifecycle import SHADOW_RUN
from streams.execution.stale import GONE, UNVERIFIABLE
from streams.partitioning import partition_for
from streams.triage import records
from streams.triage.breaker import Breaker, CircuitState
from streams.triage.decide import Escalate, Merge, Start, decide
from streams.triage.dedup import Dedup, PartitionDedup
from streams.triage.flapping import FlapRecord
from streams.triage.guards import (
    CIRCUIT_OPEN,
    RECOVERY_LOOP,
    ClusterGuards,
    Guards,
    PartitionGuards,
    circuit_key,
    circuit_views,
    flap_key,
)
from streams.triage.ids import RETRY_OF
from tests.streams.triage.test_triage import _registry, _unreachable, _with_id, src

CB = CircuitBreakerSettings(failure_threshold=3, reset_timeout_s=100)
FLAP = FlapDampingSettings(max_recoveries=3, window_s=1000, healthy_delay_s=50)
DEDUP = DedupSettings(cooldown_s=10)
S = RecoveryState
_OFFSETS = itertools.count()
CONNECTIVITY = "ClusterConnectivity"


# -- the breaker ------------------------------------------------------------------------


def test_breaker_opens_after_n_failures_in_a_row_and_a_success_resets_the_count() -> None:
    breaker = Breaker()
    for offset in range(2):
        breaker = breaker.failed(f"r{offset}", at=offset, offset=offset, settings=CB)
    assert breaker.state(now=5, settings=CB) is CircuitState.CLOSED
    assert breaker.succeeded(offset=2).idle, "a success in between: the count starts again"
    opened = breaker.failed("r2", at=10, offset=2, settings=CB)
    assert (opened.failures, opened.opened_at) == (3, 10)
    assert opened.state(now=10 + 99, settings=CB) is CircuitState.OPEN
    assert opened.state(now=10 + 100, settings=CB) is CircuitState.HALF_OPEN


def test_open_breaker_refuses_then_half_open_admits_exactly_one_trial() -> None:
    breaker = Breaker(failures=3, opened_at=0)
    same, why = breaker.admit("r1", now=50, settings=CB)
    assert same == breaker
    assert why == "opened at 1970-01-01T00:00:00+00:00, half-opens at 1970-01-01T00:01:40+00:00"
    trial, why = breaker.admit("t1", now=100, settings=CB)
    assert (why, trial.trial) == (None, "t1")
    again, why = trial.admit("t2", now=101, settings=CB)
    assert again == trial
    assert why == "half-open, its trial recovery t1 is still running"
    assert trial.admit("t1", now=102, settings=CB) == (trial, None), "the trial is still it"


def test_trial_success_closes_failure_reopens_and_cancel_frees_the_trial() -> None:
    trial, _ = Breaker(failures=3, opened_at=0).admit("t1", now=100, settings=CB)
    assert trial.succeeded(offset=7).idle
    reopened = trial.failed("t1", at=150, offset=7, settings=CB)
    assert (reopened.opened_at, reopened.trial, reopened.failures) == (150, None, 4)
    assert reopened.state(now=200, settings=CB) is CircuitState.OPEN
    freed = trial.cancelled("t1", offset=7)
    assert freed.trial is None
    assert freed.state(now=101, settings=CB) is CircuitState.HALF_OPEN
    assert trial.cancelled("other", offset=7) == trial
    # A failure of another recovery (begun before it opened) neither reopens nor ends it.
    late = trial.failed("older", at=120, offset=7, settings=CB)
    assert (late.opened_at, late.trial) == (0, "t1")


def test_breaker_counts_an_ending_read_twice_once_and_round_trips() -> None:
    once = Breaker().failed("r1", at=0, offset=4, settings=CB)
    assert once.failed("r1", at=0, offset=4, settings=CB) == once
    assert once.succeeded(offset=3) == once
    full = Breaker(failures=5, opened_at=1.5, trial="t", applied=9)
    assert Breaker.decode(full.encode()) == full


# -- flapping ---------------------------------------------------------------------------


def test_recoveries_that_do_not_hold_make_a_loop_after_k() -> None:
    record = FlapRecord()
    for i in range(3):
        assert record.loop(now=i * 100, settings=FLAP) is None
        record = record.completed(at=i * 100, offset=i).recurred(now=i * 100 + 40, settings=FLAP)
    assert record.relapses == (0, 100, 200)
    assert record.loop(now=250, settings=FLAP) == 3
    assert record.loop(now=1001, settings=FLAP) is None, "the first relapse aged out"
    assert FlapRecord.decode(record.encode()) == record


def test_a_recovery_that_holds_clears_the_count() -> None:
    record = FlapRecord(relapses=(0, 100))
    held = record.completed(at=200, offset=1).recurred(now=200 + 51, settings=FLAP)
    assert held.idle
    relapsed = record.completed(at=200, offset=1).recurred(now=200 + 50, settings=FLAP)
    assert relapsed.relapses == (0, 100, 200)


def test_an_error_that_changes_nothing_keeps_the_record_and_aged_relapses_still_leave() -> None:
    """A storm's errors mostly meet a record with no completion pending: it is kept as it is
    (no copy, no write), unless a relapse has aged out of the window."""
    quiet = FlapRecord(relapses=(500, 600))
    assert quiet.recurred(now=1400, settings=FLAP) is quiet
    assert FlapRecord().recurred(now=5, settings=FLAP) == FlapRecord()
    aged = quiet.recurred(now=1550, settings=FLAP)
    assert aged.relapses == (600,), "the relapse at 500 left the 1000 s window"


def test_flap_record_expiry_and_a_completion_read_twice() -> None:
    record = FlapRecord().completed(at=10, offset=3)
    assert record.completed(at=99, offset=3) == record
    assert record.expires(FLAP) == 10 + 50, "after the healthy delay it has held"
    relapsed = record.recurred(now=20, settings=FLAP)
    assert relapsed.expires(FLAP) == 10 + 1000
    assert FlapRecord().expires(FLAP) == float("-inf")


# -- the gates at triage ------------------------------------------------------------------


def _state() -> tuple[Dedup, ClusterGuards, dict[str, bytes]]:
    rows: dict[str, bytes] = {}
    dedup = PartitionDedup({}, {}, DEDUP, 0).for_cluster("edge-1")
    return dedup, PartitionGuards(rows, CB, FLAP).for_cluster("edge-1"), rows


def _ended(start: Start, error: TMCError, state: RecoveryState, at: float) -> RecoveryResult:
    """``start``'s recovery ending in ``state`` after one attempt that acted."""
    when = datetime.fromtimestamp(at, UTC)
    name = start.strategy.name
    pending = records.pending(start.recovery_id, name, 1, start.target, error, "s", when)
    transitions = (
        *pending.transitions,
        StateTransition(S.IN_PROGRESS, when, 1),
        StateTransition(state, when, 1, "done"),
    )
    return dataclasses.replace(pending, state=state, end_time=when, transitions=transitions)


def _error(n: int) -> TMCError:
    return _with_id(_unreachable("edge-1"), f"e{n}")


def _round(
    dedup: Dedup, guards: ClusterGuards, n: int, now: float
) -> tuple[Start | Merge | Escalate, TMCError]:
    error = _error(n)
    decision = decide(error, _registry(), dedup, now, src(), guards)
    assert not isinstance(decision, Merge), decision
    return decision, error  # type: ignore[return-value]


def _end(
    dedup: Dedup, guards: ClusterGuards, start: Start, error: TMCError, state: S, at: float
) -> None:
    """What the endings agent does with the recovery's terminal record."""
    dedup.release(CONNECTIVITY, start.target, start.recovery_id, at)
    guards.ended(_ended(start, error, state, at), next(_OFFSETS))


def test_circuit_opens_after_n_escalations_escalates_then_lets_one_trial_through() -> None:
    dedup, guards, rows = _state()
    now = 0.0
    for n in range(3):
        start, error = _round(dedup, guards, n, now)
        assert isinstance(start, Start)
        _end(dedup, guards, start, error, S.ESCALATED, now)
        now += DEDUP.cooldown_s + 1
    opened_at = now - DEDUP.cooldown_s - 1
    refused, _ = _round(dedup, guards, 10, now)
    assert isinstance(refused, Escalate)
    assert (refused.gate, refused.strategy) == (CIRCUIT_OPEN, CONNECTIVITY)
    assert refused.reason.startswith(
        "circuit open: ClusterConnectivity on cluster edge-1 after 3 failed recoveries in a row;"
    )
    # The refusal's ending says nothing about the strategy: it never acted.
    gate_record = records.escalated(
        refused.recovery_id, refused.target, _error(10), refused.reason, "s", datetime.now(UTC),
        refused.gate, refused.next_steps,
    )  # fmt: skip
    assert gate_record.context.metadata["gate"] == CIRCUIT_OPEN
    assert gate_record.result is not None
    assert gate_record.result.next_steps[0].startswith(
        "find why ClusterConnectivity keeps failing on cluster edge-1"
    )
    guards.ended(dataclasses.replace(gate_record, strategy=CONNECTIVITY), next(_OFFSETS))
    assert guards.state.breaker(circuit_key("edge-1", CONNECTIVITY)).failures == 3

    now = opened_at + CB.reset_timeout_s + DEDUP.cooldown_s + 1
    trial, trial_error = _round(dedup, guards, 11, now)
    assert isinstance(trial, Start), "half-open: one trial"
    second = decide(_error(12), _registry(), dedup, now + 1, src(), guards)
    assert isinstance(second, Merge), "the trial's claim takes its target's next errors"
    guards.state.flush(now)
    (view,) = circuit_views(rows, "edge-1", [CONNECTIVITY, "Generic"], CB, now)
    assert view["state"] == "half-open"
    assert (view["consecutive_failures"], view["trial_recovery_id"]) == (3, trial.recovery_id)
    _end(dedup, guards, trial, trial_error, S.COMPLETED, now + 2)
    guards.state.flush(now + 2)
    assert list(rows) == [flap_key("edge-1", CONNECTIVITY, "edge-1")], "closed: no breaker row"
    assert circuit_views(rows, "edge-1", [CONNECTIVITY], CB, now) == []


def test_a_second_target_of_the_strategy_on_a_half_open_cluster_escalates() -> None:
    guards = PartitionGuards({}, CB, FLAP).for_cluster("edge-1")
    key = circuit_key("edge-1", "ResourceConflict")
    guards.state.put(key, Breaker(failures=3, opened_at=0))
    assert guards.admit("ResourceConflict", "edge-1/a", "r1", now=100) is None
    refusal = guards.admit("ResourceConflict", "edge-1/b", "r2", now=100)
    assert refusal is not None
    assert refusal.reason.endswith("half-open, its trial recovery r1 is still running")
    assert refusal.reason.startswith("circuit half-open: ResourceConflict on cluster edge-1")


def test_a_flapping_target_escalates_as_a_recovery_loop_after_k_recoveries() -> None:
    dedup, guards, _ = _state()
    now = 0.0
    for n in range(3):
        start, error = _round(dedup, guards, n, now)
        assert isinstance(start, Start), (n, start)
        _end(dedup, guards, start, error, S.COMPLETED, now)
        now += DEDUP.cooldown_s + 1  # broken again after the cooldown, inside the delay
    refused, _ = _round(dedup, guards, 3, now)
    assert isinstance(refused, Escalate)
    assert refused.gate == RECOVERY_LOOP
    assert refused.reason == (
        "recovery loop: ClusterConnectivity recovered edge-1 3 times within 1000s, and each "
        "time it broke again within 50s; no more automatic recoveries until that window has "
        "passed"
    )
    merged = decide(_error(4), _registry(), dedup, now + 1, src(), guards)
    assert isinstance(merged, Merge), "repeats merge into the escalation"
    assert guards.state.breaker(circuit_key("edge-1", CONNECTIVITY)).idle, "no failures"
    later, _ = _round(dedup, guards, 5, 1000 + DEDUP.cooldown_s + 1)
    assert isinstance(later, Start), "once the relapses leave the window, it recovers again"


def test_a_merge_inside_the_healthy_delay_is_a_relapse_too() -> None:
    dedup, guards, _ = _state()
    start, error = _round(dedup, guards, 0, 0)
    assert isinstance(start, Start)
    _end(dedup, guards, start, error, S.COMPLETED, 0)
    assert isinstance(decide(_error(1), _registry(), dedup, 5, src(), guards), Merge)
    flap = guards.state.flap(flap_key("edge-1", CONNECTIVITY, "edge-1"))
    assert (flap.relapses, flap.completed_at) == ((0,), None)


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (S.COMPLETED, f"{SHADOW_RUN}planned"),
        (S.COMPLETED, f"{GONE}: readyz answered ok"),
        (S.ESCALATED, f"{UNVERIFIABLE}: Generic cannot tell"),
    ],
)
def test_attempts_that_did_not_act_do_not_count(state: RecoveryState, message: str) -> None:
    dedup, guards, rows = _state()
    start, error = _round(dedup, guards, 0, 0)
    assert isinstance(start, Start)
    ended = _ended(start, error, state, 0)
    guards.ended(dataclasses.replace(ended, result=RecoveryOutcome(True, message)), 1)
    guards.state.flush(0)
    assert rows == {}
    guards.ended(ended, 2)  # the same ending, had it acted
    guards.state.flush(0)
    assert len(rows) == 1


def test_an_operators_retry_passes_the_gates() -> None:
    dedup, guards, _ = _state()
    guards.state.put(circuit_key("edge-1", CONNECTIVITY), Breaker(failures=3, opened_at=0))
    retry = dataclasses.replace(_error(0), context={RETRY_OF: "ClusterConnectivity-old"})
    assert isinstance(decide(retry, _registry(), dedup, 1, src(), guards), Start)
    assert isinstance(decide(_error(1), _registry(), dedup, 1, src(), guards), Merge)


def test_state_survives_a_rebuild_from_the_table_and_expires_by_time() -> None:
    rows: dict[str, bytes] = {}
    epoch = [0]
    guards = Guards(rows, CB, FLAP, partitions=3, epoch=lambda: epoch[0])
    number = partition_for(b"a", 3)
    part = guards.partition(number)
    part.put(circuit_key("a", CONNECTIVITY), Breaker(failures=3, opened_at=10))
    part.put(flap_key("a", CONNECTIVITY, "a"), FlapRecord(completed_at=10))
    assert rows == {}, "written at the flush"
    part.flush(now=10)
    assert len(rows) == 2
    epoch[0] += 1  # a rebalance: memory is dropped, the table is the truth
    rebuilt = guards.for_cluster(number, "a")
    assert rebuilt.state is not part
    assert rebuilt.admit(CONNECTIVITY, "a", "r", now=20) is not None
    assert guards.circuit_counts({0, 1, 2}, now=20) == {(CONNECTIVITY, "open"): 1}
    assert guards.circuit_counts({0, 1, 2} - {number}, now=20) == {}
    rebuilt.state.flush(now=10 + FLAP.healthy_delay_s)
    assert len(rows) == 2, "the rebuild has not read the flap rows' expiry: the sweep does"
    guards.read_expiry()
    rebuilt.state.flush(now=10 + FLAP.healthy_delay_s - 1)
    assert len(rows) == 2
    rebuilt.state.flush(now=10 + FLAP.healthy_delay_s)
    assert set(rows) == {circuit_key("a", CONNECTIVITY)}, "the held completion left"
