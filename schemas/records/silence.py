"""Silences: operator-set pauses of recovery (Avro ``Silence``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from schemas.catalog import SchemaName
from schemas.records.error_types import ErrorType
from schemas.records.tmc_error import TMCError

EPOCH = datetime.fromtimestamp(0, UTC)


@dataclass(frozen=True, slots=True)
class SilenceMatchers:
    """Every matcher that is set must match; an unset (None) matcher matches anything."""

    cluster_name: str | None = None
    logical_cluster: str | None = None
    strategy: str | None = None
    error_type: ErrorType | None = None
    #: A custom error type (TMCError v3); every custom error's ``error_type`` is UNKNOWN.
    custom_type: str | None = None
    #: The component that emitted the error (``TMCError.component``), added in v2.
    component: str | None = None

    def covers(self, error: TMCError, strategy: str | None) -> bool:
        """Whether every set matcher matches ``error`` under ``strategy`` (None: no strategy
        may act on it, so a strategy matcher does not match)."""
        return (
            self.cluster_name in (None, error.cluster_name)
            and _within(error.logical_cluster, self.logical_cluster)
            and self.strategy in (None, strategy)
            and self.error_type in (None, error.type)
            and self.custom_type in (None, error.custom_type)
            and self.component in (None, error.component)
        )


def _within(logical_cluster: str | None, prefix: str | None) -> bool:
    """kcp logical clusters are paths (``root:prod:team-a``): a prefix covers the cluster it
    names and those under it, at a ``:`` boundary, so ``root:prod`` is not ``root:production``."""
    if prefix is None:
        return True
    if logical_cluster is None:
        return False
    return logical_cluster == prefix or logical_cluster.startswith(f"{prefix}:")


@dataclass(frozen=True, slots=True)
class Silence:
    schema: ClassVar[SchemaName] = SchemaName.SILENCE

    id: str
    matchers: SilenceMatchers
    reason: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    #: From when it silences (v2); a v1 record reads as silencing since the epoch.
    starts_at: datetime = EPOCH

    def active(self, now: datetime) -> bool:
        """Whether it silences at ``now``: started, and not yet expired."""
        return self.starts_at <= now < self.expires_at

    def matches(self, error: TMCError, strategy: str | None, now: datetime) -> bool:
        """Whether this silence, active at ``now``, covers ``error`` under ``strategy``."""
        return self.active(now) and self.matchers.covers(error, strategy)
