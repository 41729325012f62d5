"""Real strategies with scripted behaviour, a recording publish callback, and record factories.

Fakes are fine here: the executor is scheduling logic, and these strategies are genuine
RecoveryStrategy subclasses whose attempts await events, raise or hang.
"""

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from schemas.records import (
    ErrorType,
    RecoveryContext,
    RecoveryOutcome,
    RecoveryResult,
    RecoveryState,
    StateTransition,
    TMCError,
    utc_now,
)
from strategies.base import ExecutionContext, RecoveryStrategy

WAIT_S = 5.0
"""Generous bound on anything a test waits for; passing runs take milliseconds."""

OK = RecoveryOutcome(success=True, message="healed", actions=("probed",), next_steps=("watch",))
HANG = "hang"
"""A step that waits until cancelled (by cancel, release or the timeout)."""

Step = RecoveryOutcome | Exception | asyncio.Event | str


class Signal:
    """Lets a test wait until a condition over shared state holds."""

    def __init__(self) -> None:
        self._changed = asyncio.Condition()

    async def changed(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def until(self, predicate: Callable[[], bool]) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), WAIT_S)


@dataclass(frozen=True)
class Call:
    recovery_id: str
    attempt: int
    dry_run: bool


class Scripted(RecoveryStrategy):
    """Plays ``steps`` in order, one per attempt of a recovery (the last one repeats).

    ``by_id`` gives particular recoveries their own script.
    """

    name = "Probe"
    error_types = frozenset({ErrorType.CLUSTER_UNREACHABLE})
    priority = 100
    timeout = timedelta(seconds=30)

    def __init__(self, *steps: Step, by_id: dict[str, list[Step]] | None = None) -> None:
        self.steps = list(steps) or [OK]
        self.by_id = by_id or {}
        self.calls: list[Call] = []
        self.cancelled: list[str] = []
        self.active = 0
        self.peak = 0
        self.signal = Signal()
        self._played: Counter[str] = Counter()

    async def execute(
        self, ctx: ExecutionContext, error: TMCError, recovery: RecoveryContext
    ) -> RecoveryOutcome:
        self.calls.append(Call(ctx.recovery_id, recovery.attempt, ctx.dry_run))
        step = self._next_step(ctx.recovery_id)
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await self.signal.changed()
            return await self._play(step)
        except asyncio.CancelledError:
            self.cancelled.append(ctx.recovery_id)
            raise
        finally:
            self.active -= 1

    def _next_step(self, recovery_id: str) -> Step:
        steps = self.by_id.get(recovery_id, self.steps)
        played = self._played[recovery_id]
        self._played[recovery_id] += 1
        return steps[min(played, len(steps) - 1)]

    @staticmethod
    async def _play(step: Step) -> RecoveryOutcome:
        if isinstance(step, Exception):
            raise step
        if isinstance(step, asyncio.Event):
            await step.wait()
            return OK
        if step == HANG:
            await asyncio.Event().wait()
        assert isinstance(step, RecoveryOutcome)
        return step

    def started(self, recovery_id: str) -> int:
        return sum(call.recovery_id == recovery_id for call in self.calls)


class QuickTimeout(Scripted):
    name = "Quick"
    timeout = timedelta(milliseconds=100)


class Migration(Scripted):
    name = "Migration"


def retried(failure: RecoveryState) -> list[RecoveryState]:
    """The records of an attempt that ended in ``failure`` and is to be retried."""
    return [RecoveryState.IN_PROGRESS, failure, RecoveryState.RETRY_SCHEDULED]


class Recorder:
    """The publish callback: keeps every record, in publish order."""

    def __init__(self) -> None:
        self.records: list[RecoveryResult] = []
        self.signal = Signal()

    async def __call__(self, record: RecoveryResult) -> None:
        self.records.append(record)
        await self.signal.changed()

    def of(self, recovery_id: str) -> list[RecoveryResult]:
        return [r for r in self.records if r.id == recovery_id]

    def states(self, recovery_id: str) -> list[RecoveryState]:
        return [r.state for r in self.of(recovery_id)]

    def events(self) -> list[tuple[str, RecoveryState]]:
        return [(r.id, r.state) for r in self.records]

    async def reached(self, recovery_id: str, state: RecoveryState) -> RecoveryResult:
        """The first published record of ``recovery_id`` in ``state``, once there is one."""
        await self.signal.until(lambda: state in self.states(recovery_id))
        return next(r for r in self.of(recovery_id) if r.state == state)

    async def ended(self, recovery_id: str) -> RecoveryResult:
        await self.signal.until(lambda: self._terminal(recovery_id) is not None)
        record = self._terminal(recovery_id)
        assert record is not None
        return record

    def _terminal(self, recovery_id: str) -> RecoveryResult | None:
        return next((r for r in self.of(recovery_id) if r.state.is_terminal), None)


def error_for(cluster: str) -> TMCError:
    return (
        TMCError.build(ErrorType.CLUSTER_UNREACHABLE, "syncer", "sync")
        .with_cluster(cluster)
        .with_message(f"{cluster} unreachable")
        .build()
    )


def recovery(
    recovery_id: str,
    *,
    target: str = "cluster-a",
    strategy: str = Scripted.name,
    state: RecoveryState = RecoveryState.PENDING,
    attempt: int = 0,
    max_attempts: int = 3,
    reason: str | None = None,
    retry_due_at: datetime | None = None,
) -> RecoveryResult:
    """A record as triage (Pending) or the status table (any state) would hand it over."""
    now = utc_now()
    transitions = [StateTransition(RecoveryState.PENDING, now, 0)]
    if state is not RecoveryState.PENDING:
        transitions.append(StateTransition(state, now, attempt, reason))
    return RecoveryResult(
        id=recovery_id,
        target=target,
        error=error_for(target),
        strategy=strategy,
        context=RecoveryContext(attempt=attempt, max_attempts=max_attempts, cluster_name=target),
        state=state,
        start_time=now,
        retry_due_at=retry_due_at,
        transitions=tuple(transitions),
    )


class FlakyPublish:
    """Fails the first ``failures[state]`` tries to publish a record in ``state``, then records."""

    def __init__(self, recorder: Recorder, failures: dict[RecoveryState, int]) -> None:
        self.recorder = recorder
        self.failures = Counter(failures)

    async def __call__(self, record: RecoveryResult) -> None:
        if self.failures[record.state] > 0:
            self.failures[record.state] -= 1
            raise ConnectionError("broker away")
        await self.recorder(record)


async def eventually(predicate: Callable[[], bool]) -> None:
    """Poll for state that announces no change of its own."""
    async with asyncio.timeout(WAIT_S):
        while not predicate():  # noqa: ASYNC110 - the polled state has no event to await
            await asyncio.sleep(0.01)
