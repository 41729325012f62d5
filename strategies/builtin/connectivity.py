"""ClusterConnectivity: heals "cannot talk to cluster X" (the seed's strategy, priority 80, 5 min).

An attempt probes the cluster's API server; if it is not ready, it drops our pooled
connections to it (stale sockets after a network blip are the common cause) and re-probes a
couple of times. The verdict is written to the control plane as the SyncTarget's Ready
condition, so placement and the syncer see it too. Success tells subscribers to retry the
operations that failed; failure is retryable, so the executor tries again with backoff.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from schemas.records import ErrorType, RecoveryContext, RecoveryOutcome, TMCError
from strategies.base import ExecutionContext, FaultCheck
from strategies.builtin.kinds import ClusterStrategy
from strategies.gateway import (
    ClusterGateway,
    ClusterHealth,
    ClusterUnreachable,
    GatewayError,
    UnknownCluster,
)
from strategies.journal import Journal, gateway_failures


@dataclass
class _Attempt(Journal):
    """The journal of one attempt on ``cluster``; probes and refreshes are always reported."""

    cluster: str = ""

    def __post_init__(self) -> None:
        self.metrics.update(probes=0.0, connection_refreshes=0.0)


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
        journal = _Attempt(ctx.recovery_id, cluster=cluster)
        try:
            health = await self._probe(journal)
            if ctx.dry_run:
                return self._plan(journal, health)
            if not health.ready:
                health = await self._reconnect(journal)
            await self._record(journal, health)
        except UnknownCluster as exc:
            raise journal.failed(str(exc), retryable=False) from exc
        except GatewayError as exc:
            message = f"could not finish recovering cluster {cluster}: {exc}"
            raise journal.failed(message, retryable=True) from exc
        if not health.ready:
            raise journal.failed(
                f"cluster {cluster} is still not ready after {journal.metrics['probes']:g} "
                f"probes: {health.message}",
                retryable=True,
            )
        return journal.healed(
            f"cluster {cluster} is reachable and ready ({health.message})",
            (
                f"retry failed operations on cluster {cluster}",
                f"retry {error.component}'s {error.operation}",
            ),
        )

    async def verify(self, error: TMCError) -> FaultCheck:
        """Still unreachable or unready, or still recorded not Ready on the control plane."""
        cluster = self.cluster_of(error)
        journal = _Attempt("re-verify", cluster=cluster)
        with gateway_failures(journal, f"re-verifying cluster {cluster}"):
            health = await self._probe(journal)
            if not health.ready:
                return FaultCheck(True, f"cluster {cluster} is not ready: {health.message}")
            recorded = await self._gateway.recorded_health(cluster)
        if recorded is not None and not recorded.ready:
            return FaultCheck(
                True,
                f"cluster {cluster} answers, but the control plane still records "
                f"{_ready(recorded)}",
            )
        return FaultCheck(False, f"cluster {cluster} is reachable and ready ({health.message})")

    async def _probe(self, journal: _Attempt) -> ClusterHealth:
        """Probe once; the verdict is phrased as the Ready condition it would become."""
        journal.count("probes")
        probed = f"probed cluster {journal.cluster} readiness"
        try:
            result = await self._gateway.probe(journal.cluster)
        except ClusterUnreachable as exc:
            journal.did(f"{probed}: unreachable ({exc.detail})")
            return ClusterHealth(False, "ClusterUnreachable", str(exc))
        journal.metrics["probe_latency_s"] = round(result.latency_s, 6)
        journal.did(f"{probed}: {result.summary()}")
        if result.healthy:
            return ClusterHealth(
                True, "ClusterReachable", f"readyz answered ok in {result.latency_s:.3f} s"
            )
        answer = f"readyz answered {result.status} {result.reason}"
        detail = f": {result.detail}" if result.detail else ""
        return ClusterHealth(False, "ClusterNotReady", f"{answer}{detail}")

    async def _reconnect(self, journal: _Attempt) -> ClusterHealth:
        """Refresh our connection, then re-probe until ready or out of re-probes."""
        await self._gateway.refresh_connection(journal.cluster)
        journal.count("connection_refreshes")
        journal.did(f"refreshed client connections to cluster {journal.cluster}")
        health = await self._probe(journal)
        for _ in range(self._reprobes - 1):
            if health.ready:
                break
            await asyncio.sleep(self._reprobe_delay_s)
            health = await self._probe(journal)
        return health

    async def _record(self, journal: _Attempt, health: ClusterHealth) -> None:
        await self._gateway.record_health(journal.cluster, health)
        journal.did(f"recorded {_ready(health)} for cluster {journal.cluster}")

    def _plan(self, journal: _Attempt, health: ClusterHealth) -> RecoveryOutcome:
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
        return journal.planned(f"cluster {cluster} is {state}", planned)


def _ready(health: ClusterHealth) -> str:
    return f"Ready={'True' if health.ready else 'False'} ({health.reason})"
