"""What the API answers, as JSON: recovery rows and cluster summaries field for field as
their Avro records (snake_case, times in ISO 8601), and ``/status`` in the Go design's
shape (camelCase), summed over every worker's share."""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from schemas.records import ClusterStatus, RecoveryResult, to_avro
from streams.api.duration import go_duration
from streams.status.projection import cluster_of

STATUS_COUNTS = ("activeRecoveries", "recoveryAttempts", "successfulRecoveries", "failedRecoveries")


def jsonable(value: Any) -> Any:
    """An Avro datum with its datetimes as ISO 8601 strings."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value


def row_view(row: RecoveryResult) -> dict[str, Any]:
    """The whole row (transitions, merged ids, result) and the cluster it lives under."""
    view: dict[str, Any] = jsonable(to_avro(row))
    return {"cluster": cluster_of(row), **view}


def cluster_view(summary: ClusterStatus, now: datetime) -> dict[str, Any]:
    """The summary, each active recovery with its age, and the last outcome per strategy."""
    view: dict[str, Any] = jsonable(to_avro(summary))
    for active, shown in zip(summary.active_recoveries, view["active_recoveries"], strict=True):
        shown["duration"] = go_duration((now - active.started_at).total_seconds())
    return view


def status_view(
    summaries: Iterable[ClusterStatus], error_types: Mapping[str, str], now: datetime
) -> dict[str, Any]:
    """``GET /status`` over ``summaries``: recoveries started, completed and escalated
    (the Go design's failure is final: a failed attempt that is retried is not one), and
    every active recovery; ``error_types`` names each active recovery's error type."""
    summaries = list(summaries)
    active = [a for s in summaries for a in s.active_recoveries]
    return {
        "activeRecoveries": len(active),
        "recoveryAttempts": sum(s.counts.started for s in summaries),
        "successfulRecoveries": sum(s.counts.completed for s in summaries),
        "failedRecoveries": sum(s.counts.escalated for s in summaries),
        "activeRecoveryDetails": [
            {
                "id": a.recovery_id,
                "errorType": error_types.get(a.recovery_id, ""),
                "state": a.state.value,
                "duration": go_duration((now - a.started_at).total_seconds()),
            }
            for a in sorted(active, key=lambda a: a.recovery_id)
        ],
    }


def merge_status(shares: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Every worker's ``/status`` share summed: the fleet-wide answer, in the same shape."""
    shares = list(shares)
    merged: dict[str, Any] = {name: sum(s[name] for s in shares) for name in STATUS_COUNTS}
    details = [d for s in shares for d in s["activeRecoveryDetails"]]
    merged["activeRecoveryDetails"] = sorted(details, key=lambda d: str(d["id"]))
    return merged
