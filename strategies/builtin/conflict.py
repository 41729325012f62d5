"""ResourceConflict: heals "my update hit a version conflict" (priority 70, 2 min).

The writer's intent travels in the error's context: ``desired`` (the object it tried to
write, JSON) and optionally ``original`` (what it had last applied; else the object's
``kubectl.kubernetes.io/last-applied-configuration`` annotation). An attempt reads the
live object, merges three ways (``strategies.merge``), and writes the result with the
resourceVersion it read; a 409 means someone wrote in between, so it reads and merges
again. Fields that both sides changed differently are reported and left as live has
them; the mergeable rest is written, and the attempt fails for good so an operator
decides the rest. Target: the cluster plus the object, so a conflict storm on one
Deployment is one recovery.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from schemas.records import ErrorType, RecoveryContext, RecoveryOutcome, TMCError
from strategies.base import ExecutionContext, FaultCheck, RecoveryFailed
from strategies.builtin.kinds import ClusterStrategy
from strategies.gateway import Conflict, KubeObject, NotFound, ObjectRef
from strategies.journal import Journal, gateway_failures
from strategies.merge import MergeResult, three_way
from strategies.resources import LAST_APPLIED, object_ref

#: How many times a write may meet a newer version before the attempt gives up (retryable).
WRITE_ATTEMPTS = 5


def _json_object(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class ResourceConflictRecovery(ClusterStrategy):
    name = "ResourceConflict"
    error_types = frozenset({ErrorType.RESOURCE_CONFLICT, ErrorType.SYNC_CONFLICT})
    priority = 70
    timeout = timedelta(minutes=2)

    def can_recover(self, error: TMCError) -> bool:
        """Only errors naming the cluster and the object that conflicted."""
        return super().can_recover(error) and error.resource is not None

    def target(self, error: TMCError) -> str:
        """``east/deployments.apps shop/web``: one recovery per object, not per cluster."""
        if error.resource is None:
            return super().target(error)
        return f"{super().target(error)}/{object_ref(error.resource).describe()}"

    async def execute(
        self, ctx: ExecutionContext, error: TMCError, recovery: RecoveryContext
    ) -> RecoveryOutcome:
        cluster = self.cluster_of(error)
        if error.resource is None:
            raise RecoveryFailed("the error names no object", retryable=False)
        ref = object_ref(error.resource)
        journal = Journal(ctx.recovery_id)
        desired = _json_object(error.context.get("desired"))
        if desired is None:
            raise journal.failed(
                f"the error carries no desired state of {ref.describe()} (context 'desired')",
                retryable=False,
                next_steps=(f"retry {error.component}'s {error.operation} from a fresh read",),
            )
        with gateway_failures(journal, f"merging {ref.describe()} on cluster {cluster}"):
            for _ in range(WRITE_ATTEMPTS):
                live = await self._read(journal, cluster, ref)
                merge = self._merge(journal, error, desired, live)
                if ctx.dry_run:
                    return journal.planned(_summary(ref, merge), _plan(ref, merge))
                if not merge.applied:
                    break
                try:
                    written = await self._gateway.update_object(cluster, ref, merge.merged)
                except Conflict:
                    journal.count("write_conflicts")
                    journal.did(f"write of {ref.describe()} conflicted (409); reading again")
                    continue
                journal.did(
                    f"wrote {ref.describe()} at resourceVersion "
                    f"{written['metadata'].get('resourceVersion')}: {', '.join(merge.applied)}"
                )
                break
            else:
                raise journal.failed(
                    f"{ref.describe()} kept changing: {WRITE_ATTEMPTS} writes conflicted",
                    retryable=True,
                )
        journal.metrics["fields_merged"] = float(len(merge.applied))
        journal.metrics["fields_unmergeable"] = float(len(merge.unmergeable))
        if merge.unmergeable:
            raise journal.failed(
                f"{ref.describe()}: {', '.join(merge.unmergeable)} changed on both sides; "
                "live values kept",
                retryable=False,
                next_steps=tuple(
                    f"decide {field} of {ref.describe()} on cluster {cluster} by hand"
                    for field in merge.unmergeable
                ),
            )
        return journal.healed(
            _summary(ref, merge),
            (f"{error.component} may go on from {ref.describe()}'s current version",),
        )

    async def verify(self, error: TMCError) -> FaultCheck | None:
        """Still a change of the writer's that live lacks; None without its desired state."""
        desired = _json_object(error.context.get("desired"))
        if error.resource is None or desired is None:
            return None
        cluster, ref = self.cluster_of(error), object_ref(error.resource)
        journal = Journal("re-verify")
        with gateway_failures(journal, f"re-verifying {ref.describe()} on cluster {cluster}"):
            live = await self._read(journal, cluster, ref)
        merge = self._merge(journal, error, desired, live)
        return FaultCheck(bool(merge.applied or merge.unmergeable), _summary(ref, merge))

    async def _read(self, journal: Journal, cluster: str, ref: ObjectRef) -> KubeObject:
        try:
            live = await self._gateway.get_object(cluster, ref)
        except NotFound as exc:
            raise journal.failed(
                f"{ref.describe()} no longer exists on cluster {cluster}",
                retryable=False,
                next_steps=(f"recreate {ref.describe()} if it is still wanted",),
            ) from exc
        journal.count("reads")
        version = live["metadata"].get("resourceVersion")
        journal.did(f"read {ref.describe()} on cluster {cluster} at resourceVersion {version}")
        return live

    @staticmethod
    def _merge(
        journal: Journal, error: TMCError, desired: dict[str, Any], live: KubeObject
    ) -> MergeResult:
        """Merge against the error's original, else the last-applied annotation, else nothing."""
        original = _json_object(error.context.get("original"))
        source = "the error's original"
        if original is None:
            annotations = live["metadata"].get("annotations") or {}
            original = _json_object(annotations.get(LAST_APPLIED))
            source = "the last-applied annotation"
        if original is None:
            original, source = {}, "no original (every differing field counts as contested)"
        journal.did(f"three-way merge against {source}")
        return three_way(original, desired, live)


def _summary(ref: ObjectRef, merge: MergeResult) -> str:
    if not merge.applied:
        return f"{ref.describe()} already holds every mergeable change"
    return f"merged {len(merge.applied)} field(s) into {ref.describe()}"


def _plan(ref: ObjectRef, merge: MergeResult) -> list[str]:
    steps = [f"set {field} on {ref.describe()}" for field in merge.applied]
    steps += [f"keep live {field} (changed on both sides)" for field in merge.unmergeable]
    return steps
