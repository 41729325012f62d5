"""The strategy contract, as the seed's RecoveryStrategy: can_recover, execute, priority, timeout.

On top of the seed, a strategy names the *target* it heals, so that errors for the same
(strategy, target) merge into one recovery, and a strategy declares its defaults so that
configuration can override priority, timeout and max attempts per strategy.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import ClassVar

from schemas.records import ErrorType, RecoveryContext, RecoveryOutcome, TMCError


def default_target(error: TMCError) -> str:
    """The cluster an error is about, or its component when it names no cluster."""
    return error.cluster_name or f"component:{error.component}"


@dataclass(frozen=True)
class Action:
    """An action a strategy is about to take on ``target``, declared just before it acts.
    A ``destructive`` one takes something away that a retry cannot put back (a migration's
    rollback, moving workloads off a cluster): configuration may make it wait for an
    operator's approval (``execution.approval``). ``why`` is the strategy's case for it."""

    description: str
    target: str
    why: str
    destructive: bool = False


class ApprovalRequired(Exception):
    """Raised by :meth:`ExecutionContext.before` for an action that needs an approval not
    given yet: the attempt stops before acting. Strategies let it propagate; ``evidence``
    is what the attempt had seen (its journal), for the operator who decides."""

    def __init__(self, action: Action, evidence: tuple[str, ...]) -> None:
        super().__init__(f"approval required to {action.description}")
        self.action = action
        self.evidence = evidence


ActionCheck = Callable[[Action, tuple[str, ...]], None]
"""The executor's say on an action (raises ApprovalRequired); by default every one may run."""


def _any_action(action: Action, evidence: tuple[str, ...]) -> None:
    return None


@dataclass(frozen=True)
class ExecutionContext:
    """What a running attempt may use; ``dry_run`` means plan and report, change nothing."""

    recovery_id: str
    dry_run: bool = False
    check_action: ActionCheck = field(default=_any_action, compare=False, repr=False)

    def before(self, action: Action, evidence: Sequence[str] = ()) -> None:
        """Declare ``action`` just before taking it (never in a dry run, which takes none);
        raises ApprovalRequired when it must wait for an operator."""
        self.check_action(action, tuple(evidence))


class RecoveryFailed(Exception):
    """An attempt did not heal its target; the message says why. Retried while attempts remain.
    ``next_steps`` tell an operator (or the component) what to do when retrying cannot help."""

    def __init__(
        self,
        message: str,
        actions: tuple[str, ...] = (),
        retryable: bool = True,
        next_steps: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.actions = actions
        self.retryable = retryable
        self.next_steps = next_steps


@dataclass(frozen=True)
class FaultCheck:
    """A fresh, read-only look at the fault an error reported: still ``present`` or not, and
    what was seen (``detail``, for the outcome an operator reads)."""

    present: bool
    detail: str


class RecoveryStrategy(ABC):
    """One way of healing a class of errors. Implementations must be idempotent:
    a resumed attempt after a crash runs again from the start."""

    name: ClassVar[str]
    #: Declared per class; ``register_strategy`` may add types to one instance.
    error_types: frozenset[ErrorType]
    #: Custom error types (TMCError's ``custom_type``, e.g. "CustomApplication") it handles;
    #: likewise extended by ``register_strategy``. A custom error is matched by these alone.
    custom_types: frozenset[str] = frozenset()
    priority: ClassVar[int]
    timeout: ClassVar[timedelta]
    max_attempts: ClassVar[int] = 3

    def can_recover(self, error: TMCError) -> bool:
        if error.custom_type is not None:
            return error.custom_type in self.custom_types
        return error.type in self.error_types

    def target(self, error: TMCError) -> str:
        """What this strategy heals for ``error``; by default the cluster (or the component)."""
        return default_target(error)

    async def verify(self, error: TMCError) -> FaultCheck | None:
        """Whether the fault ``error`` reported is still there, looked at afresh and without
        changing anything. The executor asks before acting on a stale error (older than
        ``execution.stale_after_s``: a backlog after an outage), completes without acting on
        one whose fault is gone, and escalates one whose strategy returns None: cannot tell."""
        return None

    @abstractmethod
    async def execute(
        self, ctx: ExecutionContext, error: TMCError, recovery: RecoveryContext
    ) -> RecoveryOutcome:
        """Act on the target; return what was done, or raise RecoveryFailed."""
