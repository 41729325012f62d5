"""Component health reports (Avro ``HealthReport``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from schemas.catalog import SchemaName


class HealthStatus(StrEnum):
    UNKNOWN = "UNKNOWN"
    HEALTHY = "Healthy"
    DEGRADED = "Degraded"
    UNHEALTHY = "Unhealthy"


@dataclass(frozen=True, slots=True)
class HealthCheck:
    name: str
    status: HealthStatus
    message: str = ""


@dataclass(frozen=True, slots=True)
class HealthReport:
    schema: ClassVar[SchemaName] = SchemaName.HEALTH_REPORT

    component: str
    status: HealthStatus
    observed_at: datetime
    instance: str = ""
    cluster_name: str | None = None
    message: str = ""
    checks: tuple[HealthCheck, ...] = ()
    details: Mapping[str, str] = field(default_factory=dict)
