"""Generic: the fallback for retryable errors no typed strategy takes (priority 10, 2 min).

It registers for no error type, so the registry tries it only for a retryable error that
no typed strategy accepted; a non-retryable one is escalated before it is asked. An
attempt waits briefly (the transient cause may pass), checks the health of the cluster the
error names, then retries the operation itself where the gateway can (re-reading the
object of a failed read) and otherwise hands the retry back to the component with a
``retry:<operation>`` next step. An unhealthy cluster is retried with backoff.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from schemas.records import RecoveryContext, RecoveryOutcome, TMCError
from strategies.base import ExecutionContext
from strategies.builtin.kinds import GatewayStrategy
from strategies.gateway import ClusterGateway
from strategies.journal import Journal, gateway_failures
from strategies.resources import object_ref

#: Operations the gateway can redo itself: reads of the error's object.
_READS = ("get", "read", "fetch", "watch", "list")


class GenericRecovery(GatewayStrategy):
    name = "Generic"
    error_types = frozenset()
    priority = 10
    timeout = timedelta(minutes=2)

    def __init__(self, gateway: ClusterGateway, *, wait_s: float = 2.0) -> None:
        super().__init__(gateway)
        self._wait_s = wait_s

    def can_recover(self, error: TMCError) -> bool:
        """Retryable errors only: retrying is all it knows."""
        return error.is_retryable()

    async def execute(
        self, ctx: ExecutionContext, error: TMCError, recovery: RecoveryContext
    ) -> RecoveryOutcome:
        journal = Journal(ctx.recovery_id)
        cluster = error.cluster_name
        redo = error.resource is not None and error.operation.lower().startswith(_READS)
        retry = f"retry:{error.operation}"
        if ctx.dry_run:
            steps = [f"wait {self._wait_s:g} s for a transient {error.type_name} to pass"]
            if cluster is not None:
                steps.append(f"probe cluster {cluster}")
            steps.append(f"redo {error.operation} through the gateway" if redo else retry)
            return journal.planned(f"{error.type_name} from {error.component}", steps)
        await asyncio.sleep(self._wait_s)
        journal.did(f"waited {self._wait_s:g} s for a transient {error.type_name} to pass")
        if cluster is None:
            journal.did(f"no cluster to check: the error is {error.component}'s own")
            return journal.healed(f"{error.component} may retry {error.operation}", (retry,))
        with gateway_failures(journal, f"checking cluster {cluster}"):
            probe = await self._gateway.probe(cluster)
            journal.did(f"probed cluster {cluster} readiness: {probe.summary()}")
            if not probe.healthy:
                raise journal.failed(f"cluster {cluster} is not ready", retryable=True)
            if redo and error.resource is not None:
                ref = object_ref(error.resource)
                live = await self._gateway.get_object(cluster, ref)
                version = live["metadata"].get("resourceVersion")
                journal.did(f"redid {error.operation}: read {ref.describe()} at {version}")
                return journal.healed(f"{error.operation} on cluster {cluster} works again")
        return journal.healed(
            f"cluster {cluster} is ready; {error.component} may retry {error.operation}", (retry,)
        )
