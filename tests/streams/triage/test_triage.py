"""Dedup and routing decisions (pure logic over plain dicts standing in for the tables)."""

import copy
import itertools
import random
import uuid
from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.records import ErrorType, GroupVersionKind, TMCError
from strategies.registry import StrategyRegistry
from streams.config import DedupSettings
from streams.partitioning import row_key
from streams.triage.decide import Duplicate, Escalate, Merge, Start, decide
from streams.triage.dedup import MAX_MERGED_IDS, Dedup, SeenRow, TargetRow
from streams.triage.ids import Source, recovery_id
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
    seen: dict[str, SeenRow] = {}
    targets: dict[str, TargetRow] = {}
    return Dedup(seen, targets, DEDUP)


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


def test_release_by_a_stale_recovery_does_not_end_the_current_claim() -> None:
    dedup = _dedup()
    dedup.claim("S", "t", "new", src())
    dedup.release("S", "t", "old", now=0)
    claim = dedup.claim_of("S", "t", now=10_000)
    assert claim is not None
    assert claim.recovery_id == "new"


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
    assert first.target == "component:syncer/ResourceNotFound"
    repeat = decide(_with_id(error, "b"), registry, dedup, 10, src())
    assert repeat == Merge(first.recovery_id, "none", first.target)
    later = decide(_with_id(error, "c"), registry, dedup, 10 + DEDUP.cooldown_s, src())
    assert isinstance(later, Escalate)


def test_sweep_forgets_expired_ids_and_cooled_claims_of_its_partition_only() -> None:
    dedup = _dedup()
    other = Dedup(dedup.seen, dedup.targets, DEDUP, partition=1)
    dedup.remember("old", now=0, recovery_id=None, source=src())
    other.remember("old-elsewhere", now=0, recovery_id=None, source=src())
    dedup.claim("S", "t", "r1", src())
    dedup.release("S", "t", "r1", now=0)
    dedup.claim("S", "busy", "r2", src())
    assert dedup.sweep(now=DEDUP.event_id_ttl_s + 1) == 2
    assert list(dedup.seen) == [row_key("", "old-elsewhere")]
    assert list(dedup.targets) == [row_key("", "S|busy")]


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


def test_unflushed_claims_are_found_and_marked() -> None:
    dedup = _dedup()
    other = Dedup(dedup.seen, dedup.targets, DEDUP, partition=1)
    dedup.claim("S", "t", "r1", src())
    other.claim("S", "elsewhere", "r2", src())
    dedup.record_merge("S", "t", "e1", src())
    other.record_merge("S", "elsewhere", "e2", src())
    assert dedup.unflushed() == [row_key("", "S|t")]
    claim = dedup.mark_flushed(row_key("", "S|t"))
    assert claim is not None
    assert claim.merged_ids == ("e1",)
    assert dedup.unflushed() == []
    dedup.record_merge("S", "t", "e3", src())
    assert dedup.unflushed() == [row_key("", "S|t")], "a later merge needs another flush"
    assert dedup.mark_flushed(row_key("", "S|gone")) is None


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
    merged = _with_id(_unreachable("edge-1"), "b")
    assert isinstance(decide(merged, registry, dedup, 0, src(2)), Merge)
    del dedup.seen[row_key("", "b")]  # the crash kept the claim's write, not the seen row's

    again = decide(merged, registry, dedup, 1, src(2))
    assert isinstance(again, Duplicate)
    assert again.redelivery
    claim = dedup.current_claim("ClusterConnectivity", "edge-1")
    assert claim is not None
    assert claim.merged_count == 1
    assert row_key("", "b") in dedup.seen, "the seen row is written again"


def test_a_merge_whose_claim_write_was_lost_is_counted_once_on_redelivery() -> None:
    dedup, registry = _dedup(), _registry()
    decide(_with_id(_unreachable("edge-1"), "a"), registry, dedup, 0, src(1))
    before = dict(dedup.targets[dedup.claim_key("ClusterConnectivity", "edge-1")])
    merged = _with_id(_unreachable("edge-1"), "b")
    decide(merged, registry, dedup, 0, src(2))
    dedup.targets[dedup.claim_key("ClusterConnectivity", "edge-1")] = (
        before  # the crash kept only the seen row
    )

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
    dedup.targets.clear()  # the crash kept only the seen row

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


@settings(max_examples=60, deadline=None)
@given(
    targets=st.integers(min_value=1, max_value=6),
    errors=st.integers(min_value=5, max_value=60),
    resend=st.floats(min_value=0, max_value=0.4),
    crashes=st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)), max_size=4),
    seed=st.integers(),
)
def test_merge_counts_stay_exact_across_crashes_that_split_the_two_tables(
    targets: int, errors: int, resend: float, crashes: list[tuple[float, float, float]], seed: int
) -> None:
    """A crash keeps any prefix of each table's writes since the last commit, independently,
    and the records since that commit are redelivered: every unique error is still either the
    start of its target's one recovery or exactly one merge into it."""
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
    dedup, registry = Dedup(seen, claims, DEDUP), _registry()
    committed, durable_seen, durable_claims = 0, dict[str, Any](), dict[str, Any]()
    pending_crashes = sorted(crashes)
    offset = 0
    while offset < len(log):
        decide(log[offset], registry, dedup, now=1.0, source=src(offset, "errors"))
        offset += 1
        if pending_crashes and offset >= pending_crashes[0][0] * len(log):
            _, keep_seen, keep_claims = pending_crashes.pop(0)
            seen.crash(durable_seen, int(keep_seen * (len(seen.writes) + 1)))
            claims.crash(durable_claims, int(keep_claims * (len(claims.writes) + 1)))
            offset = committed  # redelivered from the last commit
        elif rng.random() < 0.2:  # a commit: what the tables hold is durable
            committed, durable_seen, durable_claims = offset, dict(seen), dict(claims)
            seen.writes, claims.writes = [], []

    unique = {e.event_id: e.cluster_name or "" for e in log}
    for t in {cluster for cluster in unique.values()}:
        claim = dedup.current_claim("ClusterConnectivity", t)
        assert claim is not None
        expected = sum(cluster == t for cluster in unique.values()) - 1
        assert claim.merged_count == expected, f"{t}: {claim.merged_count} != {expected}"
