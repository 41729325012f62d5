"""Dedup and routing decisions (pure logic over plain dicts standing in for the tables)."""

import copy
import gc
import itertools
import random
import uuid
import weakref
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.records import ErrorType, GroupVersionKind, TMCError
from strategies.registry import StrategyRegistry
from streams.config import DedupSettings
from streams.partitioning import row_key
from streams.triage.decide import Duplicate, Escalate, Merge, Start, decide
from streams.triage.dedup import SEEN_ROW_ENTRIES, Dedup, DedupState, PartitionDedup
from streams.triage.ids import RETRY_OF, Source, recovery_id
from streams.triage.rows import MAX_MERGED_IDS, TargetClaim
from tests.strategies.planned import Generic, planned

DEDUP = DedupSettings(event_id_ttl_s=3600, cooldown_s=300)
_OFFSETS = itertools.count()


def src(offset: int | None = None, topic: str = "tmc.errors") -> Source:
    """Where a record was read: each call a new record, unless ``offset`` repeats one."""
    return Source(topic, 0, next(_OFFSETS) if offset is None else offset)


class ResourceConflict(Generic):
    """Heals one resource: the target is cluster plus resource."""

    name = "ResourceConflict"
    error_types = frozenset({ErrorType.RESOURCE_CONFLICT})
    priority = 70

    def can_recover(self, error: TMCError) -> bool:
        return error.type in self.error_types

    def target(self, error: TMCError) -> str:
        assert error.resource is not None
        ref = error.resource
        return f"{error.cluster_name}/{ref.gvk.kind}/{ref.namespace}/{ref.name}"


def _registry() -> StrategyRegistry:
    connectivity = planned("ClusterConnectivity", {ErrorType.CLUSTER_UNREACHABLE}, 80)
    return StrategyRegistry([connectivity, ResourceConflict(), Generic()])


def _dedup() -> Dedup:
    return PartitionDedup({}, {}, DEDUP, 0).for_cluster("")


def _rebuilt(dedup: Dedup) -> Dedup:
    """The state a worker rebuilds from the tables after a crash or a rebalance."""
    state = dedup.state
    rebuilt = DedupState(state.seen_rows, state.claim_rows, DEDUP, partitions=1)
    return rebuilt.partition(0).for_cluster(dedup.cluster)


def _unreachable(cluster: str) -> TMCError:
    builder = TMCError.build(ErrorType.CLUSTER_UNREACHABLE, "syncer", "heartbeat")
    return builder.with_cluster(cluster).build()


def _with_id(error: TMCError, event_id: str) -> TMCError:
    return replace(error, event_id=event_id)


def test_first_error_starts_a_recovery_with_a_deterministic_id() -> None:
    error = _with_id(_unreachable("edge-1"), "e-1")
    decision = decide(error, _registry(), _dedup(), now=0, source=src())
    assert isinstance(decision, Start)
    assert decision.target == "edge-1"
    assert decision.recovery_id == recovery_id("ClusterConnectivity", "edge-1", "e-1")
    assert decision.recovery_id != recovery_id("ClusterConnectivity", "edge-1", "e-2")


def test_same_event_id_again_is_a_duplicate() -> None:
    dedup, registry = _dedup(), _registry()
    error = _with_id(_unreachable("edge-1"), "e-1")
    first = decide(error, registry, dedup, now=0, source=src())
    assert isinstance(first, Start)
    assert decide(error, registry, dedup, now=1, source=src()) == Duplicate(
        "e-1", first.recovery_id
    )


def test_expired_event_id_is_not_a_duplicate_but_merges() -> None:
    dedup, registry = _dedup(), _registry()
    error = _with_id(_unreachable("edge-1"), "e-1")
    first = decide(error, registry, dedup, now=0, source=src())
    assert isinstance(first, Start)
    again = decide(error, registry, dedup, now=DEDUP.event_id_ttl_s + 1, source=src())
    assert again == Merge(first.recovery_id, "ClusterConnectivity", "edge-1")


def test_same_problem_merges_while_active_and_during_cooldown_only() -> None:
    dedup, registry = _dedup(), _registry()
    first = decide(_with_id(_unreachable("edge-1"), "a"), registry, dedup, 0, src())
    assert isinstance(first, Start)
    merged = decide(_with_id(_unreachable("edge-1"), "b"), registry, dedup, 10, src())
    assert isinstance(merged, Merge)
    claim = dedup.current_claim("ClusterConnectivity", "edge-1")
    assert claim is not None
    assert (claim.merged_ids, claim.merged_count) == (("b",), 1)
    dedup.release("ClusterConnectivity", "edge-1", first.recovery_id, now=20)
    cooling = decide(_with_id(_unreachable("edge-1"), "c"), registry, dedup, 20 + 299, src())
    assert isinstance(cooling, Merge)
    after = decide(_with_id(_unreachable("edge-1"), "d"), registry, dedup, 20 + 301, src())
    assert isinstance(after, Start)
    assert after.recovery_id != first.recovery_id


def test_a_retry_of_the_ended_recovery_starts_a_new_one_during_its_cooldown() -> None:
    dedup, registry = _dedup(), _registry()
    first = decide(_with_id(_unreachable("edge-1"), "a"), registry, dedup, 0, src())
    assert isinstance(first, Start)
    retry = _with_id(_unreachable("edge-1"), "r")
    retry = replace(retry, context={RETRY_OF: first.recovery_id})
    forged = replace(retry, event_id="f", context={RETRY_OF: "ClusterConnectivity-other"})
    # Its ending has not reached triage yet: the retry (the API emits one only once the row
    # has ended) starts anew all the same; a retry that names another recovery merges.
    assert isinstance(decide(forged, registry, dedup, 5, src()), Merge)
    again = decide(retry, registry, dedup, 10, src())
    assert isinstance(again, Start)
    assert again.recovery_id != first.recovery_id
    claim = dedup.current_claim("ClusterConnectivity", "edge-1")
    assert claim is not None
    assert claim.recovery_id == again.recovery_id
    # The old recovery's ending, read late, leaves the new claim alone; later errors merge.
    dedup.release("ClusterConnectivity", "edge-1", first.recovery_id, now=20)
    later = decide(_with_id(_unreachable("edge-1"), "b"), registry, dedup, 30, src())
    assert later == Merge(again.recovery_id, "ClusterConnectivity", "edge-1")


def test_release_by_a_stale_recovery_does_not_end_the_current_claim() -> None:
    dedup = _dedup()
    dedup.claim("S", "t", "new", src())
    dedup.release("S", "t", "old", now=0)
    claim = dedup.claim_of("S", "t", now=10_000)
    assert claim is not None
    assert claim.recovery_id == "new"


def test_an_ending_writes_its_claim_at_once_and_leaves_the_rest_to_the_flush() -> None:
    """A recovery's ending is written as it is read; the batch's other claims and seen
    entries wait for the partition's flush (a storm merges into many claims meanwhile)."""
    seen: dict[str, bytes] = {}
    claims: dict[str, bytes] = {}
    state = PartitionDedup(seen, claims, DEDUP, 0)
    dedup = state.for_cluster("edge-1")
    dedup.claim("S", "ended", "r1", src())
    dedup.claim("S", "busy", "r2", src())
    state.flush(now=0)
    dedup.remember("e1", 1, "r2", src())
    dedup.record_merge("S", "busy", "e1", src())
    stored = dict(claims)
    assert dedup.release("S", "ended", "r1", now=2)
    dedup.write_claim("S", "ended")
    key = dedup.claim_key("S", "ended")
    assert TargetClaim.decode(claims[key]).cooldown_until == 2 + DEDUP.cooldown_s
    busy = dedup.claim_key("S", "busy")
    assert claims[busy] == stored[busy], "the merge waits"
    assert not seen, "the seen entry waits too"
    notes = state.flush(now=3)
    assert [n.claim.recovery_id for n in notes] == ["r2"]
    assert len(seen) == 1
    assert not dedup.release("S", "ended", "r1", now=4), "let go already"


def test_a_claim_written_at_its_ending_is_written_again_only_if_merged_into() -> None:
    """The ending's own write stands: the next flush does not repeat it (a record per
    recovery), unless an error merged into the claim (its cooldown) in between."""
    claims = _Changelog()
    state = PartitionDedup({}, claims, DEDUP, 0)
    dedup = state.for_cluster("edge-1")
    dedup.claim("S", "quiet", "r1", src())
    dedup.claim("S", "merged", "r2", src())
    state.flush(now=0)
    for target, recovery in (("quiet", "r1"), ("merged", "r2")):
        assert dedup.release("S", target, recovery, now=1)
        dedup.write_claim("S", target)
    dedup.record_merge("S", "merged", "e1", src())
    claims.writes.clear()
    notes = state.flush(now=2)
    assert [key for key, _ in claims.writes] == [dedup.claim_key("S", "merged")]
    assert [n.claim.recovery_id for n in notes] == ["r2"]
    assert TargetClaim.decode(claims[dedup.claim_key("S", "merged")]).merged_ids == ("e1",)


def test_resource_conflicts_merge_per_resource_not_per_cluster() -> None:
    dedup, registry = _dedup(), _registry()
    gvk = GroupVersionKind(group="apps", version="v1", kind="Deployment")

    def conflict(name: str, event_id: str) -> TMCError:
        builder = TMCError.build(ErrorType.RESOURCE_CONFLICT, "syncer", "update")
        error = builder.with_cluster("edge-1").with_resource(gvk, "prod", name).build()
        return _with_id(error, event_id)

    assert isinstance(decide(conflict("web", "1"), registry, dedup, 0, src()), Start)
    assert isinstance(decide(conflict("api", "2"), registry, dedup, 0, src()), Start)
    assert isinstance(decide(conflict("web", "3"), registry, dedup, 0, src()), Merge)


def test_non_retryable_error_without_strategy_escalates_then_merges() -> None:
    dedup, registry = _dedup(), _registry()
    error = TMCError.build(ErrorType.RESOURCE_NOT_FOUND, "syncer", "get").build()
    first = decide(_with_id(error, "a"), registry, dedup, 0, src())
    assert isinstance(first, Escalate)
    assert first.reason == "no strategy: ResourceNotFound (not retryable)"
    assert (first.gate, first.next_steps[0]) == (
        "no_strategy",
        "handle this ResourceNotFound error by hand",
    )
    assert first.target == "component:syncer/ResourceNotFound"
    repeat = decide(_with_id(error, "b"), registry, dedup, 10, src())
    assert repeat == Merge(first.recovery_id, "none", first.target)
    later = decide(_with_id(error, "c"), registry, dedup, 10 + DEDUP.cooldown_s, src())
    assert isinstance(later, Escalate)


def test_a_rebuild_expires_cooled_claims_once_the_sweep_has_read_them() -> None:
    """The first batch after a restart does not wait for a scan of every claim."""
    dedup = _dedup()
    dedup.claim("S", "t", "r1", src())
    dedup.release("S", "t", "r1", now=0)
    dedup.state.flush(now=0)
    claims = dedup.state.claim_rows
    rebuilt = DedupState(dedup.state.seen_rows, claims, DEDUP, partitions=1)
    part, later = rebuilt.partition(0), DEDUP.cooldown_s + 1
    assert part.for_cluster(dedup.cluster).claim_of("S", "t", now=later) is None, "cooled"
    part.flush(now=later)
    assert len(claims) == 1, "its cooldown is not read yet"
    rebuilt.read_claims()
    part.flush(now=later)
    assert claims == {}


def test_expiry_forgets_expired_ids_and_cooled_claims_of_its_partition_only() -> None:
    seen: dict[str, bytes] = {}
    claims: dict[str, bytes] = {}
    dedup = PartitionDedup(seen, claims, DEDUP, 0).for_cluster("")
    other = PartitionDedup(seen, claims, DEDUP, 1).for_cluster("elsewhere")
    dedup.remember("old", now=0, recovery_id="r0", source=src())
    other.remember("old-elsewhere", now=0, recovery_id="r0", source=src())
    dedup.claim("S", "t", "r1", src())
    dedup.release("S", "t", "r1", now=0)
    dedup.claim("S", "busy", "r2", src())
    dedup.state.flush(now=0)
    other.state.flush(now=0)
    assert len(seen) == 2
    assert len(claims) == 2

    dedup.state.flush(now=DEDUP.event_id_ttl_s + 1)
    assert [key.split("~")[0] for key in seen] == ["elsewhere"], "partition 1's row stays"
    assert list(claims) == [row_key("", "S|busy")]
    assert dedup.seen_before("old", now=1) is None
    assert other.seen_before("old-elsewhere", now=1) is not None


def test_a_flush_writes_one_seen_row_per_batch_and_rebuilds_from_it() -> None:
    dedup, registry = _dedup(), _registry()
    errors = [_with_id(_unreachable(f"edge-{i % 3}"), f"e{i}") for i in range(30)]
    decisions = [decide(e, registry, dedup, 0, src()) for e in errors]
    assert dedup.state.seen_rows == {}, "nothing is written before the flush"
    dedup.state.flush(now=0)
    assert len(dedup.state.seen_rows) == 1
    assert len(dedup.state.claim_rows) == 3

    rebuilt = _rebuilt(dedup)
    assert rebuilt.state._entries == {}, "a rebuild indexes event ids, entries wait for a lookup"
    for error, decision in zip(errors, decisions, strict=True):
        prior = rebuilt.seen_before(error.event_id, now=1)
        assert prior is not None
        assert prior.recovery_id == decision.recovery_id
    claim = rebuilt.current_claim("ClusterConnectivity", "edge-0")
    assert claim is not None
    assert claim.merged_count == 9


def test_a_batch_bigger_than_a_seen_row_holds_is_written_in_several() -> None:
    """A row must stay far under Kafka's 1 MiB record limit, whatever ``triage.max_batch``."""
    dedup, registry = _dedup(), _registry()
    count = SEEN_ROW_ENTRIES * 2 + 1
    errors = [_with_id(_unreachable("edge-1"), f"e{i}") for i in range(count)]
    for error in errors:
        decide(error, registry, dedup, 0, src())
    dedup.state.flush(now=0)
    assert len(dedup.state.seen_rows) == 3
    assert max(len(raw) for raw in dedup.state.seen_rows.values()) < 256 * 1024
    rebuilt = _rebuilt(dedup)
    assert all(rebuilt.seen_before(e.event_id, now=1) is not None for e in errors)


def test_a_rebuild_is_left_out_of_later_full_collections() -> None:
    """What a rebuild loads lives until the next rebalance; frozen, no later collection walks
    it (a million entries made each of Faust's per-table collections take seconds)."""
    dedup = _dedup()
    decide(_with_id(_unreachable("edge-0"), "e0"), _registry(), dedup, 0, src())
    dedup.state.flush(now=0)
    gc.unfreeze()
    try:
        (loaded,) = _rebuilt(dedup).state._row_members.values()  # the row's event ids
        assert gc.get_freeze_count() > 0
        assert not any(tracked is loaded for tracked in gc.get_objects())
    finally:
        gc.unfreeze()


class _Held:
    """Something a reference cycle keeps alive until the collector frees it."""


def test_a_rebuild_never_freezes_garbage() -> None:
    """Frozen garbage is never freed: a message a cancelled task's cycle held would stay in
    Faust's set of messages to wait for, and the next revoke would wait for good."""
    held = _Held()
    cycle: list[object] = [held]
    cycle.append(cycle)
    alive = weakref.ref(held)
    del held, cycle
    dedup = _dedup()
    gc.unfreeze()
    try:
        _rebuilt(dedup)
        assert alive() is None
    finally:
        gc.unfreeze()


def test_merged_ids_are_capped_but_counted() -> None:
    dedup = _dedup()
    dedup.claim("S", "t", "r1", src())
    for i in range(MAX_MERGED_IDS + 50):
        claim = dedup.record_merge("S", "t", f"e{i}", src())
    assert len(claim.merged_ids) == MAX_MERGED_IDS
    assert claim.merged_count == MAX_MERGED_IDS + 50


@settings(max_examples=30, deadline=None)
@given(
    targets=st.integers(min_value=1, max_value=40),
    per_target=st.integers(min_value=1, max_value=8),
    resend=st.floats(min_value=0, max_value=0.5),
    seed=st.integers(),
)
def test_storm_of_n_errors_over_k_targets_starts_k_recoveries(
    targets: int, per_target: int, resend: float, seed: int
) -> None:
    rng = random.Random(seed)
    errors = [
        _with_id(_unreachable(f"edge-{t}"), str(uuid.UUID(int=rng.getrandbits(128))))
        for t in range(targets)
        for _ in range(per_target)
    ]
    errors += rng.sample(errors, int(len(errors) * resend))  # retried sends: same event ids
    rng.shuffle(errors)
    dedup, registry = _dedup(), _registry()
    decisions = [decide(e, registry, dedup, now=1.0, source=src()) for e in errors]
    starts = [d for d in decisions if isinstance(d, Start)]
    assert len(starts) == targets
    assert len({s.target for s in starts}) == targets
    assert all(isinstance(d, Start | Merge | Duplicate) for d in decisions), (
        "every error is started, merged or dropped as a duplicate"
    )


def test_a_flush_notes_each_claim_with_new_merges_once() -> None:
    dedup = _dedup()
    dedup.claim("S", "t", "r1", src())
    dedup.claim("S", "quiet", "r2", src())
    dedup.record_merge("S", "t", "e1", src())
    notes = dedup.state.flush(now=0)
    assert [(n.claim.recovery_id, n.claim.merged_ids) for n in notes] == [("r1", ("e1",))]
    assert dedup.state.flush(now=0) == [], "nothing new merged"
    dedup.record_merge("S", "t", "e3", src())
    later = dedup.state.flush(now=0)
    assert [(n.claim.merged_count, n.new_ids) for n in later] == [(2, ("e3",))], (
        "a note carries only the ids status has not been sent"
    )
    rebuilt = _rebuilt(dedup)
    assert rebuilt.state.flush(now=0) == [], "a rebuild alone is no news to status"
    rebuilt.renote("S", "t")
    again = rebuilt.state.flush(now=0)
    assert [(n.claim.merged_count, n.new_ids) for n in again] == [(2, ("e1", "e3"))], (
        "told again, status hears everything: the ids it may have missed too"
    )


@pytest.mark.parametrize("seen_row_kept", [True, False])
def test_a_redelivered_merge_tells_status_again_about_its_recoverys_merges(
    seen_row_kept: bool,
) -> None:
    """A crash can keep a claim's writes (its merges, then its release) and lose the merge
    note sent between them. Then the batch was never committed (a commit waits for every
    send), so its records come again: already counted, they are duplicates, and each tells
    status the claim's merges again, whether the seen row got out or not."""
    dedup, registry = _dedup(), _registry()
    decide(_with_id(_unreachable("edge-1"), "a"), registry, dedup, 0, src(1))
    dedup.state.flush(now=0)
    seen = dict(dedup.state.seen_rows)
    merged = _with_id(_unreachable("edge-1"), "b")
    first = decide(merged, registry, dedup, 0, src(2))
    assert isinstance(first, Merge)
    assert len(dedup.state.flush(now=0)) == 1  # this note is lost
    dedup.release("ClusterConnectivity", "edge-1", first.recovery_id, now=0)
    assert dedup.state.flush(now=0) == [], "the release is no news to status"
    if not seen_row_kept:
        dedup.state.seen_rows.clear()
        dedup.state.seen_rows.update(seen)

    rebuilt = _rebuilt(dedup)
    assert rebuilt.state.flush(now=1) == []
    again = decide(merged, registry, rebuilt, 1, src(2))
    assert isinstance(again, Duplicate)
    assert again.redelivery
    notes = rebuilt.state.flush(now=1)
    assert [(n.claim.recovery_id, n.claim.merged_count) for n in notes] == [(first.recovery_id, 1)]


def test_a_resend_is_a_plain_duplicate_and_a_redelivery_is_marked() -> None:
    dedup, registry = _dedup(), _registry()
    error = _with_id(_unreachable("edge-1"), "e-1")
    first = decide(error, registry, dedup, now=0, source=src(100))
    assert isinstance(first, Start)
    resend = decide(error, registry, dedup, now=1, source=src(101))
    redelivery = decide(error, registry, dedup, now=2, source=src(100))
    assert resend == Duplicate("e-1", first.recovery_id, redelivery=False)
    assert redelivery == Duplicate("e-1", first.recovery_id, redelivery=True)


def test_a_merge_redelivered_after_its_seen_row_was_lost_is_not_counted_twice() -> None:
    dedup, registry = _dedup(), _registry()
    decide(_with_id(_unreachable("edge-1"), "a"), registry, dedup, 0, src(1))
    dedup.state.flush(now=0)
    seen_before = dict(dedup.state.seen_rows)
    merged = _with_id(_unreachable("edge-1"), "b")
    assert isinstance(decide(merged, registry, dedup, 0, src(2)), Merge)
    dedup.state.flush(now=0)
    dedup.state.seen_rows.clear()  # the crash kept the claim's write, not the seen row's
    dedup.state.seen_rows.update(seen_before)
    dedup = _rebuilt(dedup)

    again = decide(merged, registry, dedup, 1, src(2))
    assert isinstance(again, Duplicate)
    assert again.redelivery
    claim = dedup.current_claim("ClusterConnectivity", "edge-1")
    assert claim is not None
    assert claim.merged_count == 1
    assert dedup.seen_before("b", now=1) is not None, "the event id is remembered again"


def test_a_merge_whose_claim_write_was_lost_is_counted_once_on_redelivery() -> None:
    dedup, registry = _dedup(), _registry()
    decide(_with_id(_unreachable("edge-1"), "a"), registry, dedup, 0, src(1))
    dedup.state.flush(now=0)
    key = dedup.claim_key("ClusterConnectivity", "edge-1")
    before = dedup.state.claim_rows[key]
    merged = _with_id(_unreachable("edge-1"), "b")
    decide(merged, registry, dedup, 0, src(2))
    dedup.state.flush(now=0)
    dedup.state.claim_rows[key] = before  # the crash kept only the seen row
    dedup = _rebuilt(dedup)

    for _ in range(2):  # redelivered twice: counted once
        assert isinstance(decide(merged, registry, dedup, 1, src(2)), Duplicate)
    claim = dedup.current_claim("ClusterConnectivity", "edge-1")
    assert claim is not None
    assert (claim.merged_count, claim.merged_ids) == (1, ("b",))


def test_a_start_whose_claim_write_was_lost_claims_again_on_redelivery() -> None:
    dedup, registry = _dedup(), _registry()
    starter = _with_id(_unreachable("edge-1"), "a")
    first = decide(starter, registry, dedup, 0, src(1))
    assert isinstance(first, Start)
    dedup.state.flush(now=0)
    dedup.state.claim_rows.clear()  # the crash kept only the seen row
    dedup = _rebuilt(dedup)

    assert decide(starter, registry, dedup, 1, src(1)) == Duplicate("a", first.recovery_id, True)
    later = decide(_with_id(_unreachable("edge-1"), "b"), registry, dedup, 2, src(2))
    assert later == Merge(first.recovery_id, "ClusterConnectivity", "edge-1")


class _Changelog(dict[str, Any]):
    """A table whose writes are journaled, so a test can keep only a prefix of them, as a
    crash does with a changelog partition's unacknowledged sends."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, Any]] = []

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, copy.deepcopy(value))
        self.writes.append((key, copy.deepcopy(value)))

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.writes.append((key, _GONE))

    def crash(self, durable: dict[str, Any], kept: int) -> None:
        """Back to ``durable`` plus the first ``kept`` writes since it was taken."""
        self.clear()
        dict.update(self, copy.deepcopy(durable))
        for key, value in self.writes[:kept]:
            if value is _GONE:
                dict.pop(self, key, None)
            else:
                dict.__setitem__(self, key, copy.deepcopy(value))
        self.writes = []


_GONE = object()


@settings(max_examples=300, deadline=None, database=None)
@given(
    targets=st.integers(min_value=1, max_value=6),
    errors=st.integers(min_value=5, max_value=60),
    resend=st.floats(min_value=0, max_value=0.4),
    crashes=st.lists(
        st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)), max_size=4
    ),
    seed=st.integers(),
)
def test_merge_counts_stay_exact_across_crashes_that_split_the_two_tables(
    targets: int,
    errors: int,
    resend: float,
    crashes: list[tuple[float, float, float, float]],
    seed: int,
) -> None:
    """A crash keeps any prefix of each table's writes, and of the merge notes sent to status,
    since the last commit, independently, and the records since that commit are redelivered.
    Recoveries end (their claims are let go) at random moments. Every unique error is still
    either the start of its target's one recovery or exactly one merge into it, on the claim
    and in what status learns from the notes that got out."""
    rng = random.Random(seed)
    log = [
        _with_id(
            _unreachable(f"edge-{rng.randrange(targets)}"), str(uuid.UUID(int=rng.getrandbits(128)))
        )
        for _ in range(errors)
    ]
    log += [log[rng.randrange(len(log))] for _ in range(int(errors * resend))]  # resends
    rng.shuffle(log)
    seen, claims = _Changelog(), _Changelog()
    registry = _registry()
    ended: set[str] = set()  # targets whose recovery ended: its result is on the results topic
    status: dict[str, int] = {}  # recovery id -> merged count, from the notes that got out
    notes: list[tuple[str, int]] = []  # sent since the last commit

    def flush(state: PartitionDedup) -> None:
        notes.extend((n.claim.recovery_id, n.claim.merged_count) for n in state.flush(now=1.0))

    def deliver(kept: list[tuple[str, int]]) -> None:
        for rid, count in kept:
            status[rid] = max(status.get(rid, 0), count)

    def rebuilt() -> PartitionDedup:
        state = DedupState(seen, claims, DEDUP, partitions=1).partition(0)
        for target in ended:  # the endings are read again from the results topic
            _end(state, target)
        return state

    state = rebuilt()
    committed, durable_seen, durable_claims = 0, dict[str, Any](), dict[str, Any]()
    pending_crashes = sorted(crashes)
    offset = 0
    while offset < len(log):
        error = log[offset]
        dedup = state.for_cluster(error.cluster_name or "")
        decide(error, registry, dedup, now=1.0, source=src(offset, "errors"))
        offset += 1
        if rng.random() < 0.1:  # a recovery ends
            target = error.cluster_name or ""
            ended.add(target)
            _end(state, target)
        if pending_crashes and offset >= pending_crashes[0][0] * len(log):
            _, keep_seen, keep_claims, keep_notes = pending_crashes.pop(0)
            seen.crash(durable_seen, int(keep_seen * (len(seen.writes) + 1)))
            claims.crash(durable_claims, int(keep_claims * (len(claims.writes) + 1)))
            deliver(notes[: int(keep_notes * (len(notes) + 1))])
            notes.clear()
            state, offset = rebuilt(), committed  # redelivered from the last commit
        elif rng.random() < 0.3:  # a batch closes: its writes are sent, its records acked
            flush(state)
            if rng.random() < 0.5:  # a commit: what was sent is durable
                committed, durable_seen, durable_claims = offset, dict(seen), dict(claims)
                seen.writes, claims.writes = [], []
                deliver(notes)
                notes.clear()
    flush(state)
    deliver(notes)

    final = rebuilt()
    unique = {e.event_id: e.cluster_name or "" for e in log}
    for t in {cluster for cluster in unique.values()}:
        claim = final.for_cluster(t).current_claim("ClusterConnectivity", t)
        assert claim is not None
        expected = sum(cluster == t for cluster in unique.values()) - 1
        assert claim.merged_count == expected, f"{t}: {claim.merged_count} != {expected}"
        told = status.get(claim.recovery_id, 0)
        assert told == expected, f"{t}: status was told {told} merges of {expected}"


def _end(state: PartitionDedup, target: str) -> None:
    """The target's recovery ended: triage lets its claim go (it keeps merging, cooling down)."""
    dedup = state.for_cluster(target)
    claim = dedup.current_claim("ClusterConnectivity", target)
    if claim is not None:
        dedup.release("ClusterConnectivity", target, claim.recovery_id, now=1.0)
