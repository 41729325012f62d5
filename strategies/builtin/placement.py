"""Placement: heals "this workload's placement no longer works" (priority 60, 5 min).

The error names the Placement (context ``placement``, or a Placement resource) in its
logical cluster. An attempt reads it (its cluster selector, its CPU and memory requests,
the cluster it is on), lists the logical cluster's clusters, keeps those whose labels
match the selector, that are Ready and are not the current one, reads each one's capacity
(allocatable minus requested), and moves the placement to the one with the most room that
fits, written with the resourceVersion it read. The outcome says which cluster and why,
and why each other was passed over. Moving workloads off a cluster is destructive
(``Action(destructive=True)``): it may wait for an operator's approval. A placement no
longer on the error's cluster has been moved already (by an earlier attempt, or a recovery
of the same placement triggered from another cluster's partition), and is left alone. No
cluster matching the selector is a policy problem, final; matching clusters all full may
pass, so that is retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from schemas.records import ErrorType, RecoveryContext, RecoveryOutcome, TMCError
from strategies.base import Action, ExecutionContext, FaultCheck
from strategies.builtin.kinds import WorkspaceObjectStrategy
from strategies.gateway import (
    ClusterInfo,
    GatewayError,
    KubeObject,
    Resources,
    Workspace,
)
from strategies.journal import Journal, gateway_failures
from strategies.resources import cpu_milli, memory_bytes
from strategies.resources import placement as placement_ref

#: Where the reason for the choice is recorded on the Placement.
REASON_ANNOTATION = "tmc.kcp.io/placement-reason"


@dataclass(frozen=True)
class _Candidate:
    name: str
    free: Resources


class PlacementRecovery(WorkspaceObjectStrategy):
    name = "Placement"
    kind = "Placement"
    error_types = frozenset(
        {
            ErrorType.PLACEMENT_CONSTRAINT,
            ErrorType.PLACEMENT_CAPACITY,
            ErrorType.PLACEMENT_POLICY,
        }
    )
    priority = 60
    timeout = timedelta(minutes=5)

    async def execute(
        self, ctx: ExecutionContext, error: TMCError, recovery: RecoveryContext
    ) -> RecoveryOutcome:
        logical, name = self.named(error)
        journal = Journal(ctx.recovery_id)
        workspace, ref = Workspace(logical), placement_ref(name)
        with gateway_failures(journal, f"re-placing {name} in {logical}"):
            placement = await self._gateway.get_object(workspace, ref)
            spec = placement.get("spec", {})
            current, need = spec.get("cluster"), _requests(spec)
            selector = dict((spec.get("clusterSelector") or {}).get("matchLabels") or {})
            journal.did(
                f"read placement {name}: on {current}, needs {need.describe()}, "
                f"selector {_labels(selector)}"
            )
            if error.cluster_name is not None and current != error.cluster_name:
                return journal.healed(
                    f"placement {name} has already moved from {error.cluster_name} to {current}"
                )
            clusters = await self._gateway.list_clusters(logical)
            journal.did(f"listed {len(clusters)} cluster(s) of {logical}")
            eligible, passed_over = _eligible(clusters, selector, current)
            if not eligible:
                raise journal.failed(
                    f"no cluster of {logical} besides {current} matches {_labels(selector)}",
                    retryable=False,
                    next_steps=(
                        f"add a Ready cluster labelled {_labels(selector)} to {logical}",
                        f"or relax placement {name}'s clusterSelector",
                    ),
                )
            fitting = await self._fitting(journal, eligible, need, passed_over)
            if not fitting:
                raise journal.failed(
                    f"no cluster matching {_labels(selector)} has room for "
                    f"{need.describe()}: {'; '.join(passed_over)}",
                    retryable=True,
                )
            chosen = max(fitting, key=lambda c: (c.free.cpu_milli, c.free.memory_bytes, c.name))
            why = (
                f"{chosen.name} has the most room of the {len(fitting)} fitting cluster(s) "
                f"({chosen.free.describe()} free, {need.describe()} needed)"
            )
            if ctx.dry_run:
                return journal.planned(
                    f"placement {name} should move from {current} to {chosen.name}",
                    [f"set placement {name}'s cluster to {chosen.name}: {why}"],
                )
            move = f"move placement {name} off {current} to {chosen.name}"
            ctx.before(Action(move, self.target(error), why, destructive=True), journal.actions)
            await self._gateway.update_object(workspace, ref, _moved(placement, chosen.name, why))
        journal.did(f"moved placement {name} from {current} to {chosen.name}: {why}")
        journal.metrics["clusters_considered"] = float(len(eligible))
        journal.metrics["clusters_fitting"] = float(len(fitting))
        return journal.healed(
            f"placement {name} now on {chosen.name}: {why}"
            + (f"; passed over: {'; '.join(passed_over)}" if passed_over else ""),
            (f"watch the workload of placement {name} start on {chosen.name}",),
        )

    async def verify(self, error: TMCError) -> FaultCheck:
        """Still on the cluster the error named (one not named cannot have been left)."""
        logical, name = self.named(error)
        with gateway_failures(Journal("re-verify"), f"re-verifying placement {name}"):
            placement = await self._gateway.get_object(Workspace(logical), placement_ref(name))
        current = placement.get("spec", {}).get("cluster")
        if error.cluster_name is not None and current != error.cluster_name:
            return FaultCheck(False, f"placement {name} has moved to {current}")
        return FaultCheck(True, f"placement {name} is still on {current}")

    async def _fitting(
        self, journal: Journal, eligible: list[str], need: Resources, passed_over: list[str]
    ) -> list[_Candidate]:
        """The eligible clusters with room for ``need``; why each other one is left out."""
        fitting = []
        for cluster in eligible:
            try:
                capacity = await self._gateway.read_capacity(cluster)
            except GatewayError as exc:
                passed_over.append(f"{cluster}: capacity unreadable ({exc})")
                continue
            journal.count("capacity_reads")
            journal.did(f"read capacity of {cluster}: {capacity.free.describe()} free")
            if capacity.free.fits(need):
                fitting.append(_Candidate(cluster, capacity.free))
            else:
                passed_over.append(f"{cluster}: full ({capacity.free.describe()} free)")
        return fitting


def _requests(spec: dict[str, Any]) -> Resources:
    requests = spec.get("requests") or {}
    return Resources(cpu_milli(requests.get("cpu", 0)), memory_bytes(requests.get("memory", 0)))


def _labels(selector: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "(any)"


def _eligible(
    clusters: list[ClusterInfo], selector: dict[str, str], current: object
) -> tuple[list[str], list[str]]:
    """Names of the clusters that match, are Ready and are not ``current``; why not, others."""
    eligible, passed_over = [], []
    for cluster in clusters:
        if cluster.name == current:
            continue
        if any(cluster.labels.get(k) != v for k, v in selector.items()):
            passed_over.append(f"{cluster.name}: labels do not match")
        elif not cluster.ready:
            passed_over.append(f"{cluster.name}: not Ready")
        else:
            eligible.append(cluster.name)
    return eligible, passed_over


def _moved(placement: KubeObject, cluster: str, why: str) -> KubeObject:
    metadata = placement["metadata"]
    annotations = {**(metadata.get("annotations") or {}), REASON_ANNOTATION: why}
    return {
        **placement,
        "metadata": {**metadata, "annotations": annotations},
        "spec": {**placement.get("spec", {}), "cluster": cluster},
    }
