"""The status table's per-cluster summary row (Avro ``ClusterStatus``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from schemas.catalog import SchemaName
from schemas.records.recovery import RecoveryState


@dataclass(frozen=True, slots=True)
class ActiveRecovery:
    recovery_id: str
    strategy: str
    target: str
    state: RecoveryState
    started_at: datetime


@dataclass(frozen=True, slots=True)
class StrategyOutcome:
    recovery_id: str
    state: RecoveryState
    finished_at: datetime
    message: str = ""


@dataclass(frozen=True, slots=True)
class RecoveryCounts:
    started: int = 0
    completed: int = 0
    failed: int = 0
    timed_out: int = 0
    cancelled: int = 0
    escalated: int = 0
    merged_errors: int = 0


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    """What is being recovered on one cluster now, and how its recoveries ended."""

    schema: ClassVar[SchemaName] = SchemaName.CLUSTER_STATUS

    cluster_name: str
    updated_at: datetime
    counts: RecoveryCounts = RecoveryCounts()
    active_recoveries: tuple[ActiveRecovery, ...] = ()
    last_outcomes: Mapping[str, StrategyOutcome] = field(default_factory=dict)
