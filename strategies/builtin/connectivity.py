"""ClusterConnectivity: heals "cannot talk to cluster X" (the seed's strategy, priority 80, 5 min).

An attempt probes the cluster's API server; if it is not ready, it drops our pooled
connections to it (stale sockets after a network blip are the common cause) and re-probes a
couple of times. The verdict is written to the control plane as the SyncTarget's Ready
condition, so placement and the syncer see it too. Success tells subscribers to retry the
operations that failed; failure is retryable, so the executor tries again with backoff.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from schemas.records import ErrorType, RecoveryContext, RecoveryOutcome, TMCError
from strategies.base import ExecutionContext, RecoveryFailed
from strategies.builtin.kinds import ClusterStrategy
from strategies.gateway import (
    ClusterGateway,
    ClusterHealth,
    ClusterUnreachable,
    GatewayError,
    UnknownCluster,
)

log = logging.getLogger(__name__)


@dataclass
class _Journal:
    """What an attempt really did, for the outcome (or the failure) to report."""

    cluster: str
    recovery_id: str
    actions: list[str] = field(default_factory=list)
    probes: int = 0
    refreshes: int = 0
    latency_s: float | None = None

    def did(self, action: str) -> None:
        self.actions.append(action)
        log.info("%s: %s", self.recovery_id, action)

    def metrics(self) -> dict[str, float]:
        metrics = {"probes": float(self.probes), "connection_refreshes": float(self.refreshes)}
        if self.latency_s is not None:
            metrics["probe_latency_s"] = round(self.latency_s, 6)
        return metrics


class ClusterConnectivityRecovery(ClusterStrategy):
    name = "ClusterConnectivity"
    error_types = frozenset(
        {
            ErrorType.CLUSTER_UNREACHABLE,
            ErrorType.CLUSTER_UNAVAILABLE,
            ErrorType.NETWORK_CONNECTIVITY,
        }
    )
    priority = 80
    timeout = timedelta(minutes=5)

    def __init__(
        self, gateway: ClusterGateway, *, reprobes: int = 2, reprobe_delay_s: float = 1.0
    ) -> None:
        super().__init__(gateway)
        self._reprobes = reprobes
        self._reprobe_delay_s = reprobe_delay_s

    async def execute(
        self, ctx: ExecutionContext, error: TMCError, recovery: RecoveryContext
    ) -> RecoveryOutcome:
        cluster = self.cluster_of(error)
        journal = _Journal(cluster, ctx.recovery_id)
        try:
            health = await self._probe(journal)
            if ctx.dry_run:
                return self._plan(journal, health)
            if not health.ready:
                health = await self._reconnect(journal)
            await self._record(journal, health)
        except UnknownCluster as exc:
            raise RecoveryFailed(str(exc), tuple(journal.actions), retryable=False) from exc
        except GatewayError as exc:
            raise RecoveryFailed(
                f"could not finish recovering cluster {cluster}: {exc}",
                tuple(journal.actions),
                retryable=True,
            ) from exc
        if not health.ready:
            raise RecoveryFailed(
                f"cluster {cluster} is still not ready after {journal.probes} probes: "
                f"{health.message}",
                tuple(journal.actions),
                retryable=True,
            )
        return self._healed(journal, error, health)

    async def _probe(self, journal: _Journal) -> ClusterHealth:
        """Probe once; the verdict is phrased as the Ready condition it would become."""
        journal.probes += 1
        probed = f"probed cluster {journal.cluster} readiness"
        try:
            result = await self._gateway.probe(journal.cluster)
        except ClusterUnreachable as exc:
            journal.did(f"{probed}: unreachable ({exc.detail})")
            return ClusterHealth(False, "ClusterUnreachable", str(exc))
        journal.latency_s = result.latency_s
        journal.did(f"{probed}: {result.summary()}")
        if result.healthy:
            return ClusterHealth(
                True, "ClusterReachable", f"readyz answered ok in {result.latency_s:.3f} s"
            )
        answer = f"readyz answered {result.status} {result.reason}"
        detail = f": {result.detail}" if result.detail else ""
        return ClusterHealth(False, "ClusterNotReady", f"{answer}{detail}")

    async def _reconnect(self, journal: _Journal) -> ClusterHealth:
        """Refresh our connection, then re-probe until ready or out of re-probes."""
        await self._gateway.refresh_connection(journal.cluster)
        journal.refreshes += 1
        journal.did(f"refreshed client connections to cluster {journal.cluster}")
        health = await self._probe(journal)
        for _ in range(self._reprobes - 1):
            if health.ready:
                break
            await asyncio.sleep(self._reprobe_delay_s)
            health = await self._probe(journal)
        return health

    async def _record(self, journal: _Journal, health: ClusterHealth) -> None:
        await self._gateway.record_health(journal.cluster, health)
        journal.did(f"recorded {_ready(health)} for cluster {journal.cluster}")

    def _healed(self, journal: _Journal, error: TMCError, health: ClusterHealth) -> RecoveryOutcome:
        return RecoveryOutcome(
            success=True,
            message=f"cluster {journal.cluster} is reachable and ready ({health.message})",
            actions=tuple(journal.actions),
            next_steps=(
                f"retry failed operations on cluster {journal.cluster}",
                f"retry {error.component}'s {error.operation}",
            ),
            metrics=journal.metrics(),
        )

    def _plan(self, journal: _Journal, health: ClusterHealth) -> RecoveryOutcome:
        """Dry run: the probe was read-only; say what a real attempt would change."""
        cluster = journal.cluster
        if health.ready:
            planned = [f"record {_ready(health)} for cluster {cluster}"]
            state = "ready"
        else:
            planned = [
                f"refresh client connections to cluster {cluster}",
                f"re-probe cluster {cluster} up to {self._reprobes} times",
                f"record Ready=True if a re-probe succeeds, else {_ready(health)}",
            ]
            state = f"not ready ({health.message})"
        return RecoveryOutcome(
            success=True,
            message=f"dry run: cluster {cluster} is {state}; nothing was changed",
            actions=(*journal.actions, *(f"would {step}" for step in planned)),
            next_steps=("run without dry-run to apply the planned actions",),
            metrics=journal.metrics(),
        )


def _ready(health: ClusterHealth) -> str:
    return f"Ready={'True' if health.ready else 'False'} ({health.reason})"
