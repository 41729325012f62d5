"""The recovery execution record published on every state change (Avro ``RecoveryResult``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from schemas.catalog import SchemaName
from schemas.records.tmc_error import TMCError


class RecoveryState(StrEnum):
    """Avro enum ``io.kcp.tmc.RecoveryState`` (RecoveryResult v2, ClusterStatus v2).

    The last three came with v2, for the safety gates; a v1 reader reads each as UNKNOWN
    (the enum's default), so an old worker never takes one for a state it knows."""

    UNKNOWN = "UNKNOWN"
    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    TIMEOUT = "Timeout"
    CANCELLED = "Cancelled"
    RETRY_SCHEDULED = "RetryScheduled"
    ESCALATED = "Escalated"
    #: Not terminal: held by a gate, such as a global pause or a fleet blast-radius cap.
    WAITING = "Waiting"
    #: Not terminal: a destructive action waits for an operator's approval.
    AWAITING_APPROVAL = "AwaitingApproval"
    #: Terminal: an operator's silence matched, so nothing acts on it.
    SUPPRESSED = "Suppressed"

    @property
    def is_terminal(self) -> bool:
        """Whether the recovery is over: no worker resumes it."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {
        RecoveryState.COMPLETED,
        RecoveryState.CANCELLED,
        RecoveryState.ESCALATED,
        RecoveryState.SUPPRESSED,
    }
)
"""Failed and Timeout are per-attempt outcomes: each is followed by RetryScheduled or Escalated.
Waiting and AwaitingApproval are holds: the recovery goes on when the gate opens."""


@dataclass(frozen=True, slots=True)
class RecoveryContext:
    attempt: int
    max_attempts: int
    cluster_name: str | None = None
    logical_cluster: str | None = None
    resource_context: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RecoveryOutcome:
    """What a strategy did: the seed's RecoveryResult."""

    success: bool
    message: str
    actions: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()
    error: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StateTransition:
    state: RecoveryState
    at: datetime
    attempt: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RecoveryResult:
    """A recovery execution as of its latest transition (key on the topic: the cluster)."""

    schema: ClassVar[SchemaName] = SchemaName.RECOVERY_RESULT

    id: str
    target: str
    error: TMCError
    strategy: str
    context: RecoveryContext
    state: RecoveryState
    start_time: datetime
    end_time: datetime | None = None
    retry_due_at: datetime | None = None
    result: RecoveryOutcome | None = None
    merged_error_ids: tuple[str, ...] = ()
    merged_count: int = 0
    transitions: tuple[StateTransition, ...] = ()

    def kafka_key(self) -> bytes:
        return self.error.kafka_key()
