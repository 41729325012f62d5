"""Helpers for the strategy scenarios: errors as components emit them, attempts, dry runs."""

import json
from typing import Any

from schemas.records import ErrorType, GroupVersionKind, RecoveryContext, TMCError
from strategies.base import ExecutionContext
from strategies.gateway import ObjectRef

RUN = ExecutionContext(recovery_id="rec-1")
DRY_RUN = ExecutionContext(recovery_id="rec-dry", dry_run=True)


def error(
    error_type: ErrorType,
    cluster: str | None = "east",
    *,
    ref: ObjectRef | None = None,
    kind: str = "Deployment",
    operation: str = "update",
    retryable: bool | None = None,
    **context: Any,
) -> TMCError:
    """An error from the syncer about ``cluster`` (in root:tmc), and ``ref`` when given;
    dict context values travel as JSON, as an emitter would put an object there."""
    builder = TMCError.build(error_type, "syncer", operation).with_message("it failed")
    if cluster is not None:
        builder.with_cluster(cluster, "root:tmc")
    if ref is not None:
        group, _, version = ref.api.rpartition("/")
        builder.with_resource(GroupVersionKind(version, kind, group), ref.namespace, ref.name)
    if retryable is not None:
        builder.with_retryable(retryable)
    for key, value in context.items():
        builder.with_context(key, json.dumps(value) if isinstance(value, dict) else value)
    return builder.build()


def attempt(number: int = 1, of: int = 3) -> RecoveryContext:
    return RecoveryContext(attempt=number, max_attempts=of)
