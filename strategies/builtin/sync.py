"""Sync: heals "the syncer failed or timed out syncing to cluster X" (priority 50, 4 min).

An attempt checks the sync target: its API server answers readyz (an unreachable cluster
is ClusterConnectivity's to heal, so this one retries later), the syncer's ``Synced``
condition, and the failing resource's status on the cluster when the error names one. It
then asks for a re-sync (an annotation on the SyncTarget carrying the recovery id) and
verifies: the syncer must echo that id and report ``Synced=True``. A syncer that echoes
the request but stays unsynced is wedged, and re-syncing again will not help; one that
does not answer yet is retried. The verdict is recorded as the SyncTarget's Ready
condition, so placement sees a syncer that stopped working.
"""

from __future__ import annotations

from datetime import timedelta

from schemas.records import ErrorType, RecoveryContext, RecoveryOutcome, TMCError
from strategies.base import ExecutionContext, FaultCheck
from strategies.builtin.kinds import ClusterStrategy
from strategies.builtin.polling import PATIENT, Checks
from strategies.gateway import ClusterGateway, ClusterHealth, NotFound, SyncStatus
from strategies.journal import Journal, gateway_failures
from strategies.resources import object_ref


class SyncRecovery(ClusterStrategy):
    name = "Sync"
    error_types = frozenset({ErrorType.SYNC_FAILURE, ErrorType.SYNC_TIMEOUT})
    priority = 50
    timeout = timedelta(minutes=4)

    def __init__(self, gateway: ClusterGateway, *, checks: Checks = PATIENT) -> None:
        super().__init__(gateway)
        self._checks = checks

    async def execute(
        self, ctx: ExecutionContext, error: TMCError, recovery: RecoveryContext
    ) -> RecoveryOutcome:
        cluster = self.cluster_of(error)
        journal = Journal(ctx.recovery_id)
        with gateway_failures(journal, f"re-syncing cluster {cluster}"):
            probe = await self._gateway.probe(cluster)
            journal.did(f"probed cluster {cluster} readiness: {probe.summary()}")
            if not probe.healthy:
                raise journal.failed(f"cluster {cluster} is not ready", retryable=True)
            before = await self._gateway.sync_status(cluster)
            journal.did(f"syncer of {cluster}: {_describe(before)}")
            await self._check_resource(journal, cluster, error)
            if ctx.dry_run:
                return journal.planned(
                    f"syncer of {cluster}: {_describe(before)}",
                    [
                        f"request a re-sync of cluster {cluster} ({ctx.recovery_id})",
                        f"wait up to {self._checks.count} checks for Synced=True",
                    ],
                )
            await self._gateway.trigger_resync(cluster, ctx.recovery_id)
            journal.did(f"requested a re-sync of cluster {cluster} ({ctx.recovery_id})")
            after = await self._verify(journal, cluster, ctx.recovery_id)
            if after.observed_resync != ctx.recovery_id:
                raise journal.failed(
                    f"the syncer of {cluster} has not picked up the re-sync request yet",
                    retryable=True,
                )
            health = _health(after)
            await self._gateway.record_health(cluster, health)
            journal.did(f"recorded Ready={after.synced} ({health.reason}) for cluster {cluster}")
        if not after.synced:
            raise journal.failed(
                f"the syncer of {cluster} took the re-sync request but is still not synced: "
                f"{after.message}",
                retryable=False,
                next_steps=(
                    f"restart the syncer of cluster {cluster} and read its logs",
                    f"retry {error.component}'s {error.operation} once it reports Synced",
                ),
            )
        return journal.healed(
            f"cluster {cluster} re-synced: {after.message}",
            (f"retry {error.component}'s {error.operation}",),
        )

    async def verify(self, error: TMCError) -> FaultCheck:
        """Still not synced, as the syncer reports on the SyncTarget."""
        cluster = self.cluster_of(error)
        with gateway_failures(Journal("re-verify"), f"re-verifying the syncer of {cluster}"):
            status = await self._gateway.sync_status(cluster)
        return FaultCheck(not status.synced, f"syncer of {cluster}: {_describe(status)}")

    async def _check_resource(self, journal: Journal, cluster: str, error: TMCError) -> None:
        if error.resource is None:
            return
        ref = object_ref(error.resource)
        try:
            live = await self._gateway.get_object(cluster, ref)
        except NotFound:
            journal.did(f"{ref.describe()} is not on cluster {cluster} yet")
            return
        metadata, status = live["metadata"], live.get("status") or {}
        journal.did(
            f"{ref.describe()} on cluster {cluster}: generation {metadata.get('generation', '?')}, "
            f"observed {status.get('observedGeneration', '?')}"
        )

    async def _verify(self, journal: Journal, cluster: str, request: str) -> SyncStatus:
        """Read the sync status until the syncer answered ``request`` (or checks run out)."""
        status = await self._checks.until(
            lambda: self._gateway.sync_status(cluster),
            lambda status: status.observed_resync == request,
            journal,
            "sync_checks",
        )
        journal.did(f"syncer of {cluster} after the re-sync: {_describe(status)}")
        return status


def _describe(status: SyncStatus) -> str:
    state = "Synced" if status.synced else "not synced"
    return f"{state} ({status.reason}: {status.message})"


def _health(status: SyncStatus) -> ClusterHealth:
    if status.synced:
        return ClusterHealth(True, "SyncRecovered", status.message)
    return ClusterHealth(False, "SyncerWedged", status.message)
