"""Answering a recovery that awaits approval (streams/execution/approval.py): ``approve``
lets it take the destructive action it stopped before; ``reject`` cancels it. Either needs
the approve role, is audited before it is sent, and travels as a command to the worker that
owns the recovery (streams/api/commands.py), so it reaches the wait wherever it now runs."""

from typing import Any

from schemas.records import RecoveryState
from streams.api.exceptions import Conflict

AWAITING = RecoveryState.AWAITING_APPROVAL.value


def check_awaiting(row: dict[str, Any], action: str) -> None:
    """Only a recovery awaiting approval can be approved or rejected (409 otherwise)."""
    if row["state"] != AWAITING:
        raise Conflict(
            f"recovery {row['id']} is {row['state']}, not {AWAITING}: nothing to {action}"
        )
