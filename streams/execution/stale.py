"""Stale errors: not acted on blindly.

An error older than ``execution.stale_after_s`` when its recovery first acts (a backlog after
an outage, a worker that was down) may describe a fault that has long gone. Such a recovery
is stale for good (its age is taken at its first attempt, so a crash or a retry does not
change the verdict), and every attempt of it asks the strategy to re-verify the fault before
acting (``RecoveryStrategy.verify``, read-only):

- gone: the attempt completes without acting, "fault no longer present (stale error
  re-verified): ...";
- still present: the attempt acts, its first action saying what the re-verification saw;
- the strategy cannot tell: the attempt fails for good, "stale: could not re-verify ...",
  and the recovery escalates.
"""

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from schemas.records import RecoveryOutcome, RecoveryResult, RecoveryState
from strategies.base import FaultCheck
from streams.execution.lifecycle import UNVERIFIABLE as UNVERIFIABLE  # re-exported
from streams.execution.lifecycle import AttemptFailure

GONE = "fault no longer present (stale error re-verified)"


@dataclass(frozen=True)
class Stale:
    """How old the error was at the recovery's first attempt, and the limit it passed."""

    age_s: float
    limit_s: float

    def describe(self) -> str:
        return (
            f"a stale error ({self.age_s:.0f} s old at the first attempt, over {self.limit_s:g} s)"
        )


def staleness(recovery: RecoveryResult, now: datetime, limit_s: float) -> Stale | None:
    """Stale when the error was older than ``limit_s`` at the first attempt (``now`` if none
    has started yet)."""
    first = next((t.at for t in recovery.transitions if t.state is RecoveryState.IN_PROGRESS), now)
    age_s = (first - recovery.error.timestamp).total_seconds()
    return Stale(age_s, limit_s) if age_s > limit_s else None


def gone(stale: Stale, check: FaultCheck) -> RecoveryOutcome:
    """The outcome of an attempt that found nothing to do: no action taken."""
    return RecoveryOutcome(
        success=True,
        message=f"{GONE}: {check.detail}",
        actions=(f"re-verified {stale.describe()}: fault gone: {check.detail}",),
    )


def unverifiable(stale: Stale, strategy: str, recovery_id: str) -> AttemptFailure:
    return AttemptFailure(
        RecoveryState.FAILED,
        f"{UNVERIFIABLE}: {strategy} cannot tell whether the fault of {stale.describe()} is "
        "still there, so it did not act",
        retryable=False,
        next_steps=(
            "check whether the fault is still there",
            f"if it is, retry the recovery (POST /recoveries/{recovery_id}/retry)",
        ),
    )


def still_present(
    stale: Stale, check: FaultCheck, result: RecoveryOutcome | AttemptFailure
) -> RecoveryOutcome | AttemptFailure:
    """The attempt's result, its first action the re-verification that let it act."""
    action = f"re-verified {stale.describe()}: fault still present: {check.detail}"
    return dataclasses.replace(result, actions=(action, *result.actions))
