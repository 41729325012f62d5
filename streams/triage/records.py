"""The RecoveryResult records triage creates: a Pending recovery, or an immediate escalation."""

import dataclasses
from datetime import datetime

from schemas.records import (
    RecoveryContext,
    RecoveryOutcome,
    RecoveryResult,
    RecoveryState,
    StateTransition,
    TMCError,
)
from streams.execution.lifecycle import GATE
from streams.triage.decide import NO_STRATEGY


def _context(error: TMCError, max_attempts: int, source: str) -> RecoveryContext:
    resource: dict[str, str] = {}
    if error.resource is not None:
        gvk = error.resource.gvk
        resource = {
            "group": gvk.group,
            "version": gvk.version,
            "kind": gvk.kind,
            "namespace": error.resource.namespace or "",
            "name": error.resource.name,
        }
    return RecoveryContext(
        attempt=1,
        max_attempts=max_attempts,
        cluster_name=error.cluster_name,
        logical_cluster=error.logical_cluster,
        resource_context=resource,
        metadata={"source": source, **({"event_id": error.event_id} if error.event_id else {})},
    )


def pending(
    recovery_id: str,
    strategy: str,
    max_attempts: int,
    target: str,
    error: TMCError,
    source: str,
    now: datetime,
) -> RecoveryResult:
    """A recovery waiting for its strategy's agent."""
    return RecoveryResult(
        id=recovery_id,
        target=target,
        error=error,
        strategy=strategy,
        context=_context(error, max_attempts, source),
        state=RecoveryState.PENDING,
        start_time=now,
        transitions=(StateTransition(RecoveryState.PENDING, now, 1, None),),
    )


def escalated(
    recovery_id: str,
    target: str,
    error: TMCError,
    reason: str,
    source: str,
    now: datetime,
    gate: str,
    next_steps: tuple[str, ...] = (),
) -> RecoveryResult:
    """An error nothing may act on, escalated at once with ``reason``; the record names the
    ``gate`` that stopped it (``context.metadata``) and what the on-call can do."""
    row = pending(recovery_id, NO_STRATEGY, 0, target, error, source, now)
    metadata = {**row.context.metadata, GATE: gate}
    return dataclasses.replace(
        row,
        context=dataclasses.replace(row.context, metadata=metadata),
        state=RecoveryState.ESCALATED,
        end_time=now,
        transitions=(StateTransition(RecoveryState.ESCALATED, now, 0, reason),),
        result=RecoveryOutcome(success=False, message=reason, next_steps=next_steps),
    )
