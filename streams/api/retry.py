"""Retrying a recovery that ended without healing: its error, emitted again as a new event.

The new event goes through triage like any error, so it is deduplicated, routed and admitted
by the same rules, and starts a new recovery (a new event id gives a new recovery id); the old
recovery stays as it ended, final. The error's context names the recovery it retries
(``RETRY_OF``), so the new recovery's row says where it came from.

Triage merges errors of a target into its last recovery for ``dedup.cooldown_s`` after it
ended, except the retry of that very recovery (``RETRY_OF``, streams/triage/decide.py), so a
retry runs at once.
"""

import dataclasses
from datetime import datetime
from typing import Any

from schemas.records import RecoveryState, TMCError, from_avro
from streams.triage.ids import RETRY_OF

RETRYABLE = {RecoveryState.ESCALATED.value, RecoveryState.CANCELLED.value}


def refusal(row: dict[str, Any], audit: list[dict[str, Any]]) -> str | None:
    """Why ``row`` (the API's view of a recovery, ``audit`` its trail) cannot be retried,
    or None. A recovery is retried once: a second retry (a double click) would only merge
    into the first one's recovery, so it is pointed there instead."""
    if row["state"] not in RETRYABLE:
        return (
            f"recovery {row['id']} is {row['state']}: only an escalated or cancelled recovery "
            "can be retried"
        )
    for entry in audit:
        if entry["action"] == "retry":
            return (
                f"recovery {row['id']} was retried by {entry['user']} at {entry['at']} "
                f"(event {entry['details']['event_id']}): retry that event's recovery instead"
            )
    return None


def retry_of(row: dict[str, Any], event_id: str) -> TMCError:
    """The error of ``row`` (the API's view of a recovery) as the new event ``event_id``."""
    view = row["error"]
    error = from_avro(TMCError, {**view, "timestamp": datetime.fromisoformat(view["timestamp"])})
    return dataclasses.replace(
        error, event_id=event_id, context={**error.context, RETRY_OF: row["id"]}
    )
