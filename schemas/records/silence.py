"""Silences: operator-set pauses of recovery (Avro ``Silence``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from schemas.catalog import SchemaName
from schemas.records.error_types import ErrorType
from schemas.records.tmc_error import TMCError


@dataclass(frozen=True, slots=True)
class SilenceMatchers:
    """Every matcher that is set must match; an unset (None) matcher matches anything."""

    cluster_name: str | None = None
    logical_cluster: str | None = None
    strategy: str | None = None
    error_type: ErrorType | None = None


@dataclass(frozen=True, slots=True)
class Silence:
    schema: ClassVar[SchemaName] = SchemaName.SILENCE

    id: str
    matchers: SilenceMatchers
    reason: str
    created_by: str
    created_at: datetime
    expires_at: datetime

    def matches(self, error: TMCError, strategy: str | None, now: datetime) -> bool:
        """Whether this silence, still unexpired at ``now``, covers ``error`` under ``strategy``."""
        m = self.matchers
        return (
            now < self.expires_at
            and m.cluster_name in (None, error.cluster_name)
            and m.logical_cluster in (None, error.logical_cluster)
            and m.strategy in (None, strategy)
            and m.error_type in (None, error.type)
        )
