"""Typed Python records for every schema family, plus the TMC error model."""

from schemas.records.convert import from_avro, to_avro, utc_now, whole_millis
from schemas.records.error_policy import (
    classify_kubernetes,
    default_retryable,
    default_severity,
    suggested_actions,
)
from schemas.records.error_types import BadCustomType, ErrorType, Severity, parse_error_type
from schemas.records.event import EventMeta, EventSource, EventType, ObjectReference, RecoveryEvent
from schemas.records.health import HealthCheck, HealthReport, HealthStatus
from schemas.records.recovery import (
    RecoveryContext,
    RecoveryOutcome,
    RecoveryResult,
    RecoveryState,
    StateTransition,
)
from schemas.records.silence import Silence, SilenceMatchers
from schemas.records.status import ActiveRecovery, ClusterStatus, RecoveryCounts, StrategyOutcome
from schemas.records.tmc_error import (
    EmitterIdentity,
    GroupVersionKind,
    ResourceRef,
    TMCError,
    TMCErrorBuilder,
)

__all__ = [
    "ActiveRecovery",
    "BadCustomType",
    "ClusterStatus",
    "EmitterIdentity",
    "ErrorType",
    "EventMeta",
    "EventSource",
    "EventType",
    "GroupVersionKind",
    "HealthCheck",
    "HealthReport",
    "HealthStatus",
    "ObjectReference",
    "RecoveryContext",
    "RecoveryCounts",
    "RecoveryEvent",
    "RecoveryOutcome",
    "RecoveryResult",
    "RecoveryState",
    "ResourceRef",
    "Severity",
    "Silence",
    "SilenceMatchers",
    "StateTransition",
    "StrategyOutcome",
    "TMCError",
    "TMCErrorBuilder",
    "classify_kubernetes",
    "default_retryable",
    "default_severity",
    "from_avro",
    "parse_error_type",
    "suggested_actions",
    "to_avro",
    "utc_now",
    "whole_millis",
]
