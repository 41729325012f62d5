"""Kubernetes status conditions, set the way client-go's ``meta.SetStatusCondition`` does:
one condition per type, and ``lastTransitionTime`` moves only when the status changes, so
readers can tell how long a cluster has been (un)ready."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from strategies.gateway import ClusterHealth

Condition = dict[str, Any]


def rfc3339(moment: datetime) -> str:
    """``metav1.Time`` wire format: UTC, whole seconds, ``Z`` suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ready_condition(health: ClusterHealth, now: datetime) -> Condition:
    return {
        "type": "Ready",
        "status": "True" if health.ready else "False",
        "reason": health.reason,
        "message": health.message,
        "lastTransitionTime": rfc3339(now),
    }


def set_condition(conditions: list[Condition], new: Condition) -> list[Condition]:
    """A new list with ``new`` in place of its type's condition, keeping the old transition
    time when the status is unchanged; other conditions are kept as they are."""
    result: list[Condition] = []
    replaced = False
    for current in conditions:
        if current.get("type") != new["type"]:
            result.append(current)
            continue
        merged = dict(new)
        if current.get("status") == new["status"] and current.get("lastTransitionTime"):
            merged["lastTransitionTime"] = current["lastTransitionTime"]
        result.append(merged)
        replaced = True
    return result if replaced else [*result, new]
