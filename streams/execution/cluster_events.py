"""Opt-in (``execution.cluster_events``): each recovery's start and ending also written as a
core/v1 Event where its cluster's SyncTarget lives, so ``kubectl describe synctarget`` on the
control plane shows them beside the cluster's own events. The Event is the one the events
topic carries (streams/events/shape.py: same name, reason, type and message), before
aggregation. Best effort: it is written off the recovery's path, and a failure is logged
and counted (``tmc_cluster_events_total{outcome="failed"}``), never the recovery's."""

import logging
from collections.abc import Callable

from schemas.records import RecoveryResult
from strategies.gateway import ClusterGateway
from streams.events.shape import event_of

log = logging.getLogger(__name__)


class ClusterEvents:
    def __init__(self, gateway: ClusterGateway, host: str, counted: Callable[[str], None]) -> None:
        """``counted`` gets ``written`` or ``failed`` for each Event tried."""
        self._gateway = gateway
        self._host = host
        self._counted = counted

    async def __call__(self, record: RecoveryResult) -> None:
        event = event_of(record, self._host)
        cluster = record.error.cluster_name
        if event is None or cluster is None:  # not a beginning or an ending, or no cluster
            return
        try:
            await self._gateway.record_event(cluster, event)
        except Exception as exc:  # best effort, whatever went wrong
            log.warning(
                "recovery %s: could not write its %s event for cluster %s: %s",
                record.id, event.reason, cluster, exc,
            )  # fmt: skip
            self._counted("failed")
            return
        self._counted("written")
