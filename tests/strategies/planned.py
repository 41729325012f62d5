"""Small strategies for testing selection and triage logic: they plan, they don't act."""

from datetime import timedelta

from schemas.records import ErrorType, RecoveryContext, RecoveryOutcome, TMCError
from strategies.base import ExecutionContext, RecoveryStrategy


def planned(name: str, types: set[ErrorType], priority: int) -> RecoveryStrategy:
    """A strategy named ``name`` for ``types``; execute only reports."""

    class Planned(RecoveryStrategy):
        error_types = frozenset(types)
        timeout = timedelta(minutes=2)

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
