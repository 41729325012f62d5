"""One attempt of a strategy, bounded by its timeout, with every failure turned into data.

An exception from a strategy is an outcome of the attempt, never a crash of the executor;
cancellation from outside (cancel, release) is the one thing that propagates.
"""

import asyncio
import dataclasses
import logging
import time
from datetime import timedelta

from schemas.records import RecoveryOutcome, RecoveryResult, RecoveryState
from strategies.base import (
    ActionCheck,
    ApprovalRequired,
    ExecutionContext,
    FaultCheck,
    RecoveryFailed,
    RecoveryStrategy,
)
from strategies.gateway import calls_until
from streams.execution.lifecycle import AttemptFailure
from streams.execution.stale import Stale, gone, still_present, unverifiable

log = logging.getLogger(__name__)


async def run_attempt(
    strategy: RecoveryStrategy,
    recovery: RecoveryResult,
    limit: timedelta,
    dry_run: bool,
    stale: Stale | None = None,
    check_action: ActionCheck | None = None,
) -> RecoveryOutcome | AttemptFailure | ApprovalRequired:
    """The strategy's outcome, or why the attempt failed or outlived ``limit``, or the
    approval it stopped for before acting (``check_action``, streams/execution/approval.py).
    A ``stale`` recovery's fault is re-verified first, within the same limit (stale.py)."""
    ctx = ExecutionContext(recovery_id=recovery.id, dry_run=dry_run)
    if check_action is not None:
        ctx = dataclasses.replace(ctx, check_action=check_action)
    timeout_s = limit.total_seconds()
    deadline = asyncio.timeout(timeout_s)
    check: FaultCheck | None = None
    result: RecoveryOutcome | AttemptFailure
    try:
        # Gateway calls may wait out throttling up to the attempt's end, never past it.
        with calls_until(time.monotonic() + timeout_s):
            async with deadline:
                if stale is not None:
                    check = await strategy.verify(recovery.error)
                    if check is None:
                        return unverifiable(stale, strategy.name, recovery.id)
                    if not check.present:
                        return gone(stale, check)
                outcome = await strategy.execute(ctx, recovery.error, recovery.context)
        result = outcome if outcome.success else AttemptFailure(
            RecoveryState.FAILED, outcome.message, actions=outcome.actions, error=outcome.error,
            next_steps=outcome.next_steps,
        )  # fmt: skip
    except ApprovalRequired as wait:
        return wait
    except RecoveryFailed as exc:
        result = AttemptFailure(
            RecoveryState.FAILED, str(exc), exc.retryable, exc.actions, type(exc).__name__,
            exc.next_steps,
        )  # fmt: skip
    except TimeoutError as exc:
        if deadline.expired():
            message = f"timed out after {timeout_s:g}s"
            result = AttemptFailure(RecoveryState.TIMEOUT, message, error=type(exc).__name__)
        else:
            result = _unexpected(recovery, exc)
    except Exception as exc:
        result = _unexpected(recovery, exc)
    return result if stale is None or check is None else still_present(stale, check, result)


def _unexpected(recovery: RecoveryResult, exc: Exception) -> AttemptFailure:
    log.exception("recovery %s: strategy %s raised", recovery.id, recovery.strategy)
    return AttemptFailure(
        RecoveryState.FAILED, f"{type(exc).__name__}: {exc}", error=type(exc).__name__
    )
