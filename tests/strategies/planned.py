"""Small strategies for testing selection and triage logic: they plan, they don't act."""

from collections.abc import Callable
from datetime import timedelta

from schemas.records import ErrorType, RecoveryContext, RecoveryOutcome, TMCError
from strategies.base import ExecutionContext, RecoveryStrategy


def planned(
    name: str,
    types: set[ErrorType],
    priority: int,
    accepts: Callable[[TMCError], bool] | None = None,
) -> RecoveryStrategy:
    """A strategy named ``name`` for ``types``; execute only reports.

    ``accepts`` narrows ``can_recover`` further (by default: every error of ``types``).
    With no ``types`` it is a fallback, and ``accepts`` alone decides (default: everything).
    """

    class Planned(RecoveryStrategy):
        error_types = frozenset(types)
        timeout = timedelta(minutes=2)

        def can_recover(self, error: TMCError) -> bool:
            typed = not self.error_types or super().can_recover(error)
            return typed and (accepts is None or accepts(error))

        async def execute(
            self, ctx: ExecutionContext, error: TMCError, recovery: RecoveryContext
        ) -> RecoveryOutcome:
            return RecoveryOutcome(success=True, message=f"{name} planned {ctx.recovery_id}")

    Planned.name = name
    Planned.priority = priority
    return Planned()


class Generic(RecoveryStrategy):
    name = "Generic"
    error_types = frozenset()
    priority = 10
    timeout = timedelta(minutes=2)

    def can_recover(self, error: TMCError) -> bool:
        return error.is_retryable()

    async def execute(
        self, ctx: ExecutionContext, error: TMCError, recovery: RecoveryContext
    ) -> RecoveryOutcome:
        return RecoveryOutcome(success=True, message="generic")
