"""Dedup and routing decisions (pure logic over plain dicts standing in for the tables)."""

import random
import uuid
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.records import ErrorType, GroupVersionKind, TMCError
from strategies.registry import StrategyRegistry
from streams.config import DedupSettings
from streams.triage.decide import Duplicate, Escalate, Merge, Start, decide
from streams.triage.dedup import MAX_MERGED_IDS, Dedup, SeenRow, TargetRow
from streams.triage.ids import recovery_id
from tests.strategies.planned import Generic, planned

DEDUP = DedupSettings(event_id_ttl_s=3600, cooldown_s=300)


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
    decision = decide(error, _registry(), _dedup(), now=0, source="tmc.errors:0:5")
    assert isinstance(decision, Start)
    assert decision.target == "edge-1"
    assert decision.recovery_id == recovery_id("ClusterConnectivity", "edge-1", "e-1")
    assert decision.recovery_id != recovery_id("ClusterConnectivity", "edge-1", "e-2")


def test_same_event_id_again_is_a_duplicate() -> None:
    dedup, registry = _dedup(), _registry()
    error = _with_id(_unreachable("edge-1"), "e-1")
    first = decide(error, registry, dedup, now=0, source="s")
    assert isinstance(first, Start)
    assert decide(error, registry, dedup, now=1, source="s") == Duplicate("e-1", first.recovery_id)


def test_expired_event_id_is_not_a_duplicate_but_merges() -> None:
    dedup, registry = _dedup(), _registry()
    error = _with_id(_unreachable("edge-1"), "e-1")
    first = decide(error, registry, dedup, now=0, source="s")
    assert isinstance(first, Start)
    again = decide(error, registry, dedup, now=DEDUP.event_id_ttl_s + 1, source="s")
    assert again == Merge(first.recovery_id, "ClusterConnectivity", "edge-1")


def test_same_problem_merges_while_active_and_during_cooldown_only() -> None:
    dedup, registry = _dedup(), _registry()
    first = decide(_with_id(_unreachable("edge-1"), "a"), registry, dedup, 0, "s")
    assert isinstance(first, Start)
    merged = decide(_with_id(_unreachable("edge-1"), "b"), registry, dedup, 10, "s")
    assert isinstance(merged, Merge)
    claim = dedup.current_claim("ClusterConnectivity", "edge-1")
    assert claim is not None
    assert (claim.merged_ids, claim.merged_count) == (("b",), 1)
    dedup.release("ClusterConnectivity", "edge-1", first.recovery_id, now=20)
    cooling = decide(_with_id(_unreachable("edge-1"), "c"), registry, dedup, 20 + 299, "s")
    assert isinstance(cooling, Merge)
    after = decide(_with_id(_unreachable("edge-1"), "d"), registry, dedup, 20 + 301, "s")
    assert isinstance(after, Start)
    assert after.recovery_id != first.recovery_id


def test_release_by_a_stale_recovery_does_not_end_the_current_claim() -> None:
    dedup = _dedup()
    dedup.claim("S", "t", "new")
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

    assert isinstance(decide(conflict("web", "1"), registry, dedup, 0, "s"), Start)
    assert isinstance(decide(conflict("api", "2"), registry, dedup, 0, "s"), Start)
    assert isinstance(decide(conflict("web", "3"), registry, dedup, 0, "s"), Merge)


def test_non_retryable_error_without_strategy_escalates_then_merges() -> None:
    dedup, registry = _dedup(), _registry()
    error = TMCError.build(ErrorType.RESOURCE_NOT_FOUND, "syncer", "get").build()
    first = decide(_with_id(error, "a"), registry, dedup, 0, "s")
    assert isinstance(first, Escalate)
    assert first.reason == "no strategy: ResourceNotFound (not retryable)"
    assert first.target == "component:syncer/ResourceNotFound"
    repeat = decide(_with_id(error, "b"), registry, dedup, 10, "s")
    assert repeat == Merge(first.recovery_id, "none", first.target)
    later = decide(_with_id(error, "c"), registry, dedup, 10 + DEDUP.cooldown_s, "s")
    assert isinstance(later, Escalate)


def test_sweep_forgets_expired_ids_and_cooled_claims_of_its_partition_only() -> None:
    dedup = _dedup()
    other = Dedup(dedup.seen, dedup.targets, DEDUP, partition=1)
    dedup.remember("old", now=0, recovery_id=None)
    other.remember("old-elsewhere", now=0, recovery_id=None)
    dedup.claim("S", "t", "r1")
    dedup.release("S", "t", "r1", now=0)
    dedup.claim("S", "busy", "r2")
    assert dedup.sweep(now=DEDUP.event_id_ttl_s + 1) == 2
    assert list(dedup.seen) == ["old-elsewhere"]
    assert list(dedup.targets) == ["S|busy"]


def test_merged_ids_are_capped_but_counted() -> None:
    dedup = _dedup()
    dedup.claim("S", "t", "r1")
    for i in range(MAX_MERGED_IDS + 50):
        claim = dedup.record_merge("S", "t", f"e{i}")
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
    decisions = [decide(e, registry, dedup, now=1.0, source="s") for e in errors]
    starts = [d for d in decisions if isinstance(d, Start)]
    assert len(starts) == targets
    assert len({s.target for s in starts}) == targets
    assert all(isinstance(d, Start | Merge | Duplicate) for d in decisions), (
        "every error is started, merged or dropped as a duplicate"
    )


def test_unflushed_claims_are_found_and_marked() -> None:
    dedup = _dedup()
    other = Dedup(dedup.seen, dedup.targets, DEDUP, partition=1)
    dedup.claim("S", "t", "r1")
    other.claim("S", "elsewhere", "r2")
    dedup.record_merge("S", "t", "e1")
    other.record_merge("S", "elsewhere", "e2")
    assert dedup.unflushed() == ["S|t"]
    claim = dedup.mark_flushed("S|t")
    assert claim is not None
    assert claim.merged_ids == ("e1",)
    assert dedup.unflushed() == []
    dedup.record_merge("S", "t", "e3")
    assert dedup.unflushed() == ["S|t"], "a later merge needs another flush"
    assert dedup.mark_flushed("S|gone") is None
