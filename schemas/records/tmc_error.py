"""The TMC error record and its fluent builder, after the Go ``NewTMCError(...).WithX()`` API."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from schemas.catalog import SchemaName
from schemas.records import error_policy
from schemas.records.convert import utc_now
from schemas.records.error_types import (
    ErrorType,
    Severity,
    custom_type_problem,
    parse_error_type,
)


@dataclass(frozen=True, slots=True)
class GroupVersionKind:
    version: str
    kind: str
    group: str = ""


@dataclass(frozen=True, slots=True)
class ResourceRef:
    gvk: GroupVersionKind
    name: str
    namespace: str | None = None


@dataclass(frozen=True, slots=True)
class EmitterIdentity:
    """Who sent an event, so an operator can find the process that saw the error."""

    name: str
    instance: str
    version: str | None = None


@dataclass(frozen=True, slots=True)
class TMCError:
    """One error event (Avro ``io.kcp.tmc.TMCError``); build it with :meth:`build`.

    A custom error type (v3) is ``custom_type`` with ``type`` UNKNOWN: readers of older
    versions see an UNKNOWN error, which no typed strategy takes."""

    schema: ClassVar[SchemaName] = SchemaName.TMC_ERROR

    type: ErrorType
    severity: Severity
    component: str
    operation: str
    message: str
    timestamp: datetime
    retryable: bool
    cause: str | None = None
    context: Mapping[str, str] = field(default_factory=dict)
    recovery_hint: tuple[str, ...] = ()
    cluster_name: str | None = None
    logical_cluster: str | None = None
    resource: ResourceRef | None = None
    event_id: str | None = None
    emitter: EmitterIdentity | None = None
    trace_id: str | None = None
    custom_type: str | None = None

    @staticmethod
    def build(error_type: ErrorType | str, component: str, operation: str) -> TMCErrorBuilder:
        """Start an error with the type's default severity, retryability and suggested actions.
        A name outside :class:`ErrorType` (``"CustomApplication"``) is a custom type: type
        UNKNOWN and its defaults (not retryable), ``custom_type`` the name."""
        return TMCErrorBuilder(error_type, component, operation)

    @staticmethod
    def from_kubernetes(
        component: str,
        operation: str,
        *,
        status_code: int | None = None,
        reason: str | None = None,
    ) -> TMCErrorBuilder:
        """Start an error from a Kubernetes API failure (HTTP status and/or StatusReason)."""
        error_type, retryable = error_policy.classify_kubernetes(status_code, reason)
        detail = " ".join(str(p) for p in (status_code, reason) if p is not None)
        builder = (
            TMCErrorBuilder(error_type, component, operation)
            .with_retryable(retryable)
            .with_message(f"Kubernetes API error {detail}".rstrip())
        )
        if status_code is not None:
            builder.with_context("kubernetes.code", status_code)
        if reason is not None:
            builder.with_context("kubernetes.reason", reason)
        return builder

    def is_retryable(self) -> bool:
        return self.retryable

    @property
    def type_name(self) -> str:
        """The error's type as people and strategies know it: the custom type, else the symbol."""
        return self.custom_type or self.type.value

    def custom_type_problem(self) -> str | None:
        """Why this error breaks v3's rule for custom types (a valid name, with type UNKNOWN so
        that older readers never take it for a typed error), or None."""
        if self.custom_type is None:
            return None
        if self.type is not ErrorType.UNKNOWN:
            return f"custom_type {self.custom_type[:100]!r} needs type UNKNOWN, not {self.type}"
        return custom_type_problem(self.custom_type)

    def kafka_key(self) -> bytes:
        """The record key: cluster name in UTF-8, or the component when there is no cluster."""
        return (self.cluster_name or self.component).encode()


class TMCErrorBuilder:
    """Mutable companion of the frozen :class:`TMCError`; each ``with_*`` returns the builder."""

    def __init__(self, error_type: ErrorType | str, component: str, operation: str) -> None:
        error_type, custom_type = parse_error_type(error_type)
        self._error = TMCError(
            type=error_type,
            custom_type=custom_type,
            severity=error_policy.default_severity(error_type),
            component=component,
            operation=operation,
            message="",
            timestamp=utc_now(),
            retryable=error_policy.default_retryable(error_type),
            recovery_hint=error_policy.suggested_actions(error_type),
        )
        self._context: dict[str, str] = {}

    def _set(self, **changes: Any) -> TMCErrorBuilder:
        self._error = dataclasses.replace(self._error, **changes)
        return self

    def with_message(self, message: str) -> TMCErrorBuilder:
        return self._set(message=message)

    def with_cause(self, cause: BaseException | str) -> TMCErrorBuilder:
        text = cause if isinstance(cause, str) else f"{type(cause).__name__}: {cause}"
        return self._set(cause=text)

    def with_severity(self, severity: Severity) -> TMCErrorBuilder:
        return self._set(severity=severity)

    def with_retryable(self, retryable: bool) -> TMCErrorBuilder:
        return self._set(retryable=retryable)

    def with_cluster(
        self, cluster_name: str, logical_cluster: str | None = None
    ) -> TMCErrorBuilder:
        return self._set(cluster_name=cluster_name, logical_cluster=logical_cluster)

    def with_resource(
        self, gvk: GroupVersionKind, namespace: str | None, name: str
    ) -> TMCErrorBuilder:
        return self._set(resource=ResourceRef(gvk=gvk, namespace=namespace, name=name))

    def with_context(self, key: str, value: object) -> TMCErrorBuilder:
        self._context[key] = str(value)
        return self

    def with_recovery_hint(self, *actions: str) -> TMCErrorBuilder:
        return self._set(recovery_hint=actions)

    def with_timestamp(self, timestamp: datetime) -> TMCErrorBuilder:
        return self._set(timestamp=timestamp)

    def with_trace_id(self, trace_id: str) -> TMCErrorBuilder:
        return self._set(trace_id=trace_id)

    def build(self) -> TMCError:
        """The finished error; an empty message falls back to the cause, then the type."""
        message = self._error.message or self._error.cause or self._error.type_name
        return dataclasses.replace(self._error, message=message, context=dict(self._context))
