"""Approval of destructive actions (StackStorm's inquiries), as pure rules and records.

A strategy declares each destructive action just before it takes it
(``ExecutionContext.before(Action(..., destructive=True))``, strategies/base.py). When
``execution.approval.required_for`` covers it and no operator approved that action for this
recovery yet, the check raises ApprovalRequired: the attempt stops before acting, and the
executor records AwaitingApproval with what it wants to do, on what, why, and what the
attempt had seen. The wait holds no concurrency slot (an operator may take half an hour; the
slot serves other clusters meanwhile); the target stays held, so nothing else acts on it.

Everything the wait needs is on the record, so it survives a restart or a rebalance: the
AwaitingApproval transition names the action (``AWAITING`` + its description) and its time
starts the timeout; an approval is the InProgress transition after it (``APPROVED``), which
grants that action for the rest of the recovery, and re-runs the attempt (strategies are
idempotent: it reads the target afresh, and may find it needs no rollback any more). A
rejection is a cancel. No answer within ``timeout_s`` escalates ("approval timed out").
"""

import dataclasses
from datetime import datetime, timedelta

from schemas.records import RecoveryOutcome, RecoveryResult, RecoveryState
from strategies.base import Action, ActionCheck, ApprovalRequired
from streams.config import ApprovalSettings
from streams.execution.lifecycle import EscalationGate, advance, escalate

AWAITING = "awaiting approval to "
"""Prefix of an AwaitingApproval reason; the action's description follows."""

APPROVED = "approved by "
"""Prefix of the InProgress reason that approves the action asked for just before."""

EVERY_DESTRUCTIVE = "destructive"
"""In ``required_for``: every strategy's destructive actions."""


def approved_by(user: str, reason: str) -> str:
    return f"{APPROVED}{user}: {reason}"


def rejected_by(user: str, reason: str) -> str:
    return f"approval rejected by {user}: {reason}"


def required(settings: ApprovalSettings, strategy: str, action: Action) -> bool:
    """Whether ``action`` of ``strategy`` must wait for an operator."""
    covered = {EVERY_DESTRUCTIVE, strategy}.intersection(settings.required_for)
    return action.destructive and bool(covered)


def approved_actions(recovery: RecoveryResult) -> frozenset[str]:
    """The descriptions of the actions an operator approved for ``recovery``."""
    approved: set[str] = set()
    asked: str | None = None
    for transition in recovery.transitions:
        reason = transition.reason or ""
        if transition.state is RecoveryState.AWAITING_APPROVAL and reason.startswith(AWAITING):
            asked = reason.removeprefix(AWAITING)
            continue
        resumed = transition.state is RecoveryState.IN_PROGRESS
        if asked is not None and resumed and reason.startswith(APPROVED):
            approved.add(asked)
        asked = None
    return frozenset(approved)


def checker(settings: ApprovalSettings, strategy: str, recovery: RecoveryResult) -> ActionCheck:
    """The attempt's check of each action it declares (``ExecutionContext.check_action``)."""
    granted = approved_actions(recovery)

    def check(action: Action, evidence: tuple[str, ...]) -> None:
        if required(settings, strategy, action) and action.description not in granted:
            raise ApprovalRequired(action, evidence)

    return check


def awaiting(
    recovery: RecoveryResult, request: ApprovalRequired, at: datetime, timeout_s: float
) -> RecoveryResult:
    """AwaitingApproval: the planned action, its target and why, with the attempt's evidence
    as the result's actions and how to answer as its next steps."""
    action = request.action
    due = at + timedelta(seconds=timeout_s)
    outcome = RecoveryOutcome(
        success=False,
        message=f"wants to {action.description} (target {action.target}): {action.why}",
        actions=request.evidence,
        next_steps=(
            f"tmc-recovery recoveries approve {recovery.id} --reason ... to let it act",
            f"tmc-recovery recoveries reject {recovery.id} --reason ... to cancel it",
            f"unanswered, it escalates at {due.isoformat(timespec='seconds')}",
        ),
        error=ApprovalRequired.__name__,
    )
    reason = f"{AWAITING}{action.description}"
    return advance(recovery, RecoveryState.AWAITING_APPROVAL, at, reason, result=outcome)


def deadline(recovery: RecoveryResult, timeout_s: float) -> datetime:
    """When the wait ends unanswered: ``timeout_s`` after it was asked for."""
    asked = next(
        t.at for t in reversed(recovery.transitions) if t.state is RecoveryState.AWAITING_APPROVAL
    )
    return asked + timedelta(seconds=timeout_s)


def approve(recovery: RecoveryResult, reason: str, at: datetime) -> RecoveryResult:
    """InProgress again for the same attempt, ``reason`` naming who approved (APPROVED)."""
    return advance(recovery, RecoveryState.IN_PROGRESS, at, reason)


def timed_out(recovery: RecoveryResult, at: datetime, timeout_s: float) -> RecoveryResult:
    """Escalated: nobody answered. The result keeps the plan and the evidence; its next
    steps (approve or reject) no longer apply and give way to what is left to do."""
    asked = (recovery.transitions[-1].reason or "").removeprefix(AWAITING)
    if recovery.result is not None:
        unanswered = dataclasses.replace(recovery.result, next_steps=())
        recovery = dataclasses.replace(recovery, result=unanswered)
    reason = f"approval timed out after {timeout_s:g}s: nobody approved to {asked}"
    steps = (
        f"decide whether to {asked} by hand",
        f"or retry it: tmc-recovery recoveries retry {recovery.id} --reason ...",
    )
    return escalate(recovery, reason, at, EscalationGate.APPROVAL_TIMEOUT, steps)
