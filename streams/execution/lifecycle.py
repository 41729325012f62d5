"""Pure lifecycle steps: each takes the latest RecoveryResult and returns the next one.

Kept free of I/O and scheduling so the state machine reads in one place and is tested on its own.
"""

import dataclasses
from datetime import datetime, timedelta
from enum import StrEnum

from schemas.records import RecoveryOutcome, RecoveryResult, RecoveryState, StateTransition

UNVERIFIABLE = "stale: could not re-verify"
"""Prefix of a stale error's failure when its strategy cannot re-verify it (stale.py)."""

NOT_RETRYABLE = "not retryable: "
"""Prefix of a Failed reason whose attempt must not be retried; read back on resume."""


@dataclasses.dataclass(frozen=True)
class AttemptFailure:
    """Why one attempt did not heal its target."""

    state: RecoveryState  # FAILED or TIMEOUT
    message: str
    retryable: bool = True
    actions: tuple[str, ...] = ()
    error: str | None = None
    next_steps: tuple[str, ...] = ()  # what an operator can do, kept on to the escalation

    @property
    def reason(self) -> str:
        return self.message if self.retryable else f"{NOT_RETRYABLE}{self.message}"


GATE = "gate"
"""Key in an Escalated record's ``context.metadata``: what stopped the recovery (EscalationGate)."""


class EscalationGate(StrEnum):
    """What ended a recovery in Escalated, for the on-call (names as triage's gate labels)."""

    ATTEMPTS_EXHAUSTED = "attempts_exhausted"
    NOT_RETRYABLE = "not_retryable"
    STALE = "stale"
    APPROVAL_TIMEOUT = "approval_timeout"
    NO_STRATEGY = "no_strategy"
    STORM = "storm"  # the recovery whose ask tipped storm mode (streams/admission/)


def is_terminal(recovery: RecoveryResult) -> bool:
    """No worker resumes it (RecoveryState.is_terminal: Failed and Timeout are not endings)."""
    return recovery.state.is_terminal


def advance(
    recovery: RecoveryResult,
    state: RecoveryState,
    at: datetime,
    reason: str | None = None,
    *,
    result: RecoveryOutcome | None = None,
    retry_due_at: datetime | None = None,
) -> RecoveryResult:
    """The next record: ``state`` with its transition appended, end_time set when terminal.

    ``result`` replaces the last outcome when given; ``retry_due_at`` holds only while scheduled.
    """
    attempt = recovery.context.attempt
    transition = StateTransition(state=state, at=at, attempt=attempt, reason=reason)
    return dataclasses.replace(
        recovery,
        state=state,
        end_time=at if state.is_terminal else recovery.end_time,
        retry_due_at=retry_due_at,
        result=result or recovery.result,
        transitions=(*recovery.transitions, transition),
    )


def start_attempt(
    recovery: RecoveryResult, attempt: int, at: datetime, reason: str | None = None
) -> RecoveryResult:
    """InProgress for ``attempt``; the context carries the attempt the strategy sees."""
    context = dataclasses.replace(recovery.context, attempt=attempt)
    started = dataclasses.replace(recovery, context=context)
    return advance(started, RecoveryState.IN_PROGRESS, at, reason)


def complete(recovery: RecoveryResult, outcome: RecoveryOutcome, at: datetime) -> RecoveryResult:
    return advance(recovery, RecoveryState.COMPLETED, at, outcome.message, result=outcome)


def fail_attempt(recovery: RecoveryResult, failure: AttemptFailure, at: datetime) -> RecoveryResult:
    """The attempt's Failed or Timeout record, its actions and next steps kept in
    ``result`` (an escalation keeps the last attempt's result)."""
    outcome = RecoveryOutcome(
        success=False,
        message=failure.message,
        actions=failure.actions,
        next_steps=failure.next_steps,
        error=failure.error,
    )
    return advance(recovery, failure.state, at, failure.reason, result=outcome)


def recorded_failure(recovery: RecoveryResult) -> AttemptFailure:
    """The failure a Failed/Timeout record stands for, to finish it after a crash."""
    reason = recovery.transitions[-1].reason if recovery.transitions else None
    reason = reason or recovery.state.value
    retryable = not reason.startswith(NOT_RETRYABLE)
    message = reason.removeprefix(NOT_RETRYABLE)
    return AttemptFailure(state=recovery.state, message=message, retryable=retryable)


def after_failure(
    failed: RecoveryResult, failure: AttemptFailure, at: datetime, delay_s: float
) -> RecoveryResult:
    """RetryScheduled (due ``delay_s`` from ``at``) while attempts remain, else Escalated."""
    attempt = failed.context.attempt
    if failure.retryable and attempt < failed.context.max_attempts:
        due = at + timedelta(milliseconds=round(delay_s * 1000))  # as timestamp-millis keeps it
        reason = f"attempt {attempt + 1} of {failed.context.max_attempts} in {delay_s:.1f}s"
        return advance(failed, RecoveryState.RETRY_SCHEDULED, at, reason, retry_due_at=due)
    gate = EscalationGate.NOT_RETRYABLE if not failure.retryable else None
    if failure.message.startswith(UNVERIFIABLE):
        gate = EscalationGate.STALE
    steps = (f"once the cause is fixed: tmc-recovery recoveries retry {failed.id} --reason ...",)
    reason = _escalation_reason(failed, failure)
    return escalate(failed, reason, at, gate or EscalationGate.ATTEMPTS_EXHAUSTED, steps)


def _escalation_reason(recovery: RecoveryResult, failure: AttemptFailure) -> str:
    """In the seed's words: "Migration recovery failed after 3 attempts: rollback required"."""
    attempts = recovery.context.attempt
    plural = "" if attempts == 1 else "s"
    why = "" if failure.retryable else " (not retryable)"
    count = f"{attempts} attempt{plural}{why}"
    return f"{recovery.strategy} recovery failed after {count}: {failure.message}"


SHADOW_RUN = "shadow run, nothing changed: "
"""Prefix of a shadow run's outcome message (and so of its Completed reason)."""


def shadowed(outcome: RecoveryOutcome) -> RecoveryOutcome:
    """A shadow run's outcome: the strategy planned (dry-run) and says so; nothing acted."""
    return dataclasses.replace(outcome, message=f"{SHADOW_RUN}{outcome.message}")


def hold(recovery: RecoveryResult, reason: str, at: datetime) -> RecoveryResult:
    """The same state again with ``reason``: a recovery due to run waits (the fleet is
    paused), visibly on its row and the results topic, and runs after the resume."""
    return advance(recovery, recovery.state, at, reason, retry_due_at=recovery.retry_due_at)


def escalate(
    recovery: RecoveryResult,
    reason: str,
    at: datetime,
    gate: EscalationGate | None = None,
    next_steps: tuple[str, ...] = (),
) -> RecoveryResult:
    """Escalated, for the on-call, who reads the error, each attempt's failure (its Failed or
    Timeout transition) and the last attempt's actions on the record. With a ``gate``, the
    record names it (``context.metadata``), and its result always has next steps: the
    strategy's own, or else ``next_steps``."""
    if gate is None:
        return advance(recovery, RecoveryState.ESCALATED, at, reason)
    last = recovery.result or RecoveryOutcome(success=False, message=reason)
    outcome = dataclasses.replace(last, success=False, next_steps=last.next_steps or next_steps)
    metadata = {**recovery.context.metadata, GATE: gate.value}
    gated = dataclasses.replace(
        recovery, context=dataclasses.replace(recovery.context, metadata=metadata)
    )
    return advance(gated, RecoveryState.ESCALATED, at, reason, result=outcome)


def cancel(recovery: RecoveryResult, reason: str, at: datetime) -> RecoveryResult:
    return advance(recovery, RecoveryState.CANCELLED, at, reason)
