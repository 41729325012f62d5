"""Kubernetes-style events about recoveries (Avro ``RecoveryEvent``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from schemas.catalog import SchemaName


class EventType(StrEnum):
    UNKNOWN = "UNKNOWN"
    NORMAL = "Normal"
    WARNING = "Warning"


@dataclass(frozen=True, slots=True)
class EventMeta:
    name: str
    namespace: str = "default"
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ObjectReference:
    kind: str
    name: str
    namespace: str | None = None
    api_version: str | None = None
    uid: str | None = None


@dataclass(frozen=True, slots=True)
class EventSource:
    component: str
    host: str | None = None


@dataclass(frozen=True, slots=True)
class RecoveryEvent:
    """A core/v1 Event; repeats of the same event raise ``count`` and ``last_timestamp``."""

    schema: ClassVar[SchemaName] = SchemaName.RECOVERY_EVENT

    metadata: EventMeta
    involved_object: ObjectReference
    reason: str
    message: str
    type: EventType
    first_timestamp: datetime
    last_timestamp: datetime
    source: EventSource
    count: int = 1
