"""Drives submitted recoveries to a terminal state in the background (see the package docstring)."""

import asyncio
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from schemas.records import RecoveryOutcome, RecoveryResult, RecoveryState, utc_now
from strategies.base import ApprovalRequired, RecoveryStrategy
from streams.config import ExecutionSettings, RetrySettings
from streams.control.state import Gate, Switch, hold_reason
from streams.execution import approval, lifecycle
from streams.execution.attempt import run_attempt
from streams.execution.backoff import retry_delay
from streams.execution.keyed_fifo import KeyedFifo
from streams.execution.lifecycle import AttemptFailure, is_terminal
from streams.execution.publisher import Publish, RetryingPublisher
from streams.execution.slots import Slots
from streams.execution.stale import staleness

log = logging.getLogger(__name__)

_RESUMABLE = frozenset(
    {
        RecoveryState.PENDING,
        RecoveryState.WAITING,
        RecoveryState.IN_PROGRESS,
        RecoveryState.RETRY_SCHEDULED,
        RecoveryState.FAILED,
        RecoveryState.TIMEOUT,
        RecoveryState.AWAITING_APPROVAL,
    }
)


@dataclass(frozen=True)
class Admission:
    """Leave to act on a recovery: the record to continue from (the status table's, when it
    is further along than the submitted one), and whether the leave still holds."""

    latest: RecoveryResult
    still_ours: Callable[[], bool]


Admit = Callable[[RecoveryResult], Awaitable[Admission | None]]
"""Waits until the recovery may be acted on; None means stand down (ended, or not ours)."""

Announce = Callable[[RecoveryResult], Coroutine[Any, Any, None]]
"""Told of each published record, off the recovery's path (cluster_events.py)."""


async def admit_always(recovery: RecoveryResult) -> Admission:
    """For an executor with no partitions to own (tests of scheduling logic)."""
    return Admission(recovery, lambda: True)


class Gates(Protocol):
    """The operator's switches (streams/control/view.py): may ``strategy`` act now?"""

    async def until_may_act(
        self, strategy: str, on_hold: Callable[[Switch], Awaitable[None]]
    ) -> Gate: ...


class Grants(Protocol):
    """Fleet-wide admission (streams/admission/gate.py): a grant before acting on a cluster."""

    async def until_granted(
        self, recovery: RecoveryResult, on_wait: Callable[[str], Awaitable[None]]
    ) -> str | None:
        """None once it may act; else why it must escalate instead (a storm)."""

    async def release(self, recovery: RecoveryResult) -> None: ...


class OpenGates:
    """No switches: every attempt acts (tests of scheduling logic, tools)."""

    async def until_may_act(
        self, strategy: str, on_hold: Callable[[Switch], Awaitable[None]]
    ) -> Gate:
        return Gate.ACT


STORM_STEPS = (
    "check the control plane and the network between the fleet and it: most clusters "
    "looked unreachable at once",
    "disruptive recoveries wait until storm mode ends (admission.storm_cooldown_s after "
    "the share falls); tmc-recovery pause stops the rest",
)


class _StandDown(Exception):
    """The admission lapsed (a rebalance): stop without publishing; the next owner resumes."""


@dataclass
class _Tracked:
    latest: RecoveryResult
    still_ours: Callable[[], bool] = lambda: False  # until admitted
    task: asyncio.Task[None] | None = None
    running: bool = False  # holds a concurrency slot
    stopping: bool = False  # cancel or release has taken it over
    approval: str | None = None  # who approved and why, once an approve command came
    decided: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def key(self) -> tuple[str, str]:
        """What runs one at a time: the strategy and the target it heals."""
        return (self.latest.strategy, self.latest.target)


class RecoveryExecutor:
    """Runs recoveries, bounded in number and one per (strategy, target); publishes each step.

    ``timeouts`` overrides a strategy's own ``timeout`` by name (the configured value); it is
    read at each attempt, not copied, so a reconfigured registry's reaches the next attempt.
    ``context.max_attempts`` on each recovery decides its attempts.
    """

    def __init__(
        self,
        strategies: Mapping[str, RecoveryStrategy],
        publish: Publish,
        settings: ExecutionSettings,
        retry: RetrySettings,
        *,
        admit: Admit = admit_always,
        gates: Gates | None = None,
        timeouts: Mapping[str, timedelta] | None = None,
        dry_run: bool = False,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
        publish_attempts: int = 5,
        remember_finished: int = 10_000,
        on_stale: Callable[[str], None] = lambda strategy: None,
        announce: Announce | None = None,
        grants: Grants | None = None,
        shadowed: Callable[[str], bool] = lambda strategy: False,
    ) -> None:
        self._strategies = dict(strategies)
        self._admit = admit
        self._gates = gates or OpenGates()
        self._timeouts = {} if timeouts is None else timeouts
        self._retry = retry
        self._dry_run = dry_run
        self._clock = clock
        self._rng = rng or random.Random()
        self._publisher = RetryingPublisher(publish, retry, self._rng, publish_attempts)
        self._slots = Slots(settings.max_concurrent)
        self._targets = KeyedFifo()
        self._tracked: dict[str, _Tracked] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._remember_finished = remember_finished
        self.stale_after_s = settings.stale_after_s
        self._on_stale = on_stale
        self.cluster_events = settings.cluster_events
        self.approval = settings.approval
        self._announce = announce
        self._announcing: set[asyncio.Task[None]] = set()
        self._grants = None if dry_run else grants  # a dry run acts on no cluster
        self._shadowed = shadowed

    def resize(self, max_concurrent: int) -> None:
        """A new bound (a runtime apply): more run at once, or fewer as running ones end."""
        self._slots.resize(max_concurrent)

    @property
    def max_concurrent(self) -> int:
        """The bound in force (a runtime apply may have changed the configured one)."""
        return self._slots.limit

    @property
    def running(self) -> int:
        """Recoveries in an attempt right now (at most ``max_concurrent``)."""
        return sum(entry.running for entry in self._tracked.values())

    @property
    def waiting(self) -> int:
        """Tracked recoveries not running: behind their target, in the backlog, or due later."""
        return len(self._tracked) - self.running

    @property
    def awaiting_approval(self) -> int:
        """Tracked recoveries waiting for an operator's approval (holding no slot)."""
        return sum(
            entry.latest.state is RecoveryState.AWAITING_APPROVAL
            for entry in self._tracked.values()
        )

    @property
    def tracked(self) -> Mapping[str, RecoveryResult]:
        """Every recovery this worker is driving, as of its latest transition."""
        return {recovery_id: entry.latest for recovery_id, entry in self._tracked.items()}

    @property
    def unpublished(self) -> Mapping[str, RecoveryResult]:
        """Latest records whose publishing was given up on, by recovery id."""
        return self._publisher.unpublished

    async def submit(self, recovery: RecoveryResult) -> None:
        """Start driving ``recovery`` in the background; returns at once and never rejects.

        A re-delivered id (tracked, or recently finished here) and a terminal record are no-ops.
        """
        if recovery.id in self._tracked or recovery.id in self._finished:
            return
        if recovery.state not in _RESUMABLE:
            if not is_terminal(recovery):
                log.warning("recovery %s: unknown state %s", recovery.id, recovery.state)
            return
        entry = _Tracked(recovery)
        self._tracked[recovery.id] = entry
        entry.task = asyncio.create_task(self._drive(entry), name=f"recovery {recovery.id}")

    async def cancel(self, recovery_id: str, reason: str) -> bool:
        """Stop the recovery wherever it is and publish Cancelled; False if not ours to cancel."""
        entry = self._tracked.get(recovery_id)
        if entry is None or entry.stopping or is_terminal(entry.latest) or not entry.still_ours():
            return False
        await _stop([entry])
        if is_terminal(entry.latest):  # a strategy ignored cancellation and finished anyway
            return False
        await self._record(entry, lifecycle.cancel(entry.latest, reason, self._clock()))
        self._finish(entry)
        return True

    def approve(self, recovery_id: str, reason: str) -> bool:
        """Let a recovery awaiting approval act (``reason``: approval.approved_by); False if
        none of ours awaits it here (the agent then approves it on the row)."""
        entry = self._tracked.get(recovery_id)
        if (
            entry is None
            or entry.stopping
            or entry.latest.state is not RecoveryState.AWAITING_APPROVAL
            or not entry.still_ours()
        ):
            return False
        entry.approval = reason
        entry.decided.set()
        return True

    async def release(self, predicate: Callable[[RecoveryResult], bool]) -> list[str]:
        """Stop matching recoveries without publishing: the partition's next owner resumes them."""
        entries = [
            entry
            for entry in self._tracked.values()
            if not entry.stopping and predicate(entry.latest)
        ]
        await _stop(entries)
        for entry in entries:
            self._tracked.pop(entry.latest.id, None)
            self._publisher.forget(entry.latest.id)
        return [entry.latest.id for entry in entries]

    async def close(self) -> None:
        """Release everything and wait for every task to end (announcements are dropped)."""
        await self.release(lambda _: True)
        for task in list(self._announcing):
            task.cancel()
        if self._announcing:
            await asyncio.wait(self._announcing)

    async def _drive(self, entry: _Tracked) -> None:
        """Once admitted (caught up, still owned, not ended), drive to a terminal state."""
        admission = await self._admit(entry.latest)
        if admission is None:
            log.debug("recovery %s: not admitted (ended or not owned here)", entry.latest.id)
            self._tracked.pop(entry.latest.id, None)
            return
        entry.latest, entry.still_ours = admission.latest, admission.still_ours
        try:
            strategy = self._strategies.get(entry.latest.strategy)
            if strategy is None:
                reason = f"no strategy named {entry.latest.strategy!r} on this worker"
                gate = lifecycle.EscalationGate.NO_STRATEGY
                steps = (f"deploy a worker that has strategy {entry.latest.strategy}",)
                escalated = lifecycle.escalate(entry.latest, reason, self._clock(), gate, steps)
                await self._record(entry, escalated)
            else:
                async with self._targets.hold(entry.key):
                    while not is_terminal(entry.latest):
                        await self._step(entry, strategy)
        except _StandDown:
            log.info("recovery %s: admission lapsed; left to the next owner", entry.latest.id)
            self._tracked.pop(entry.latest.id, None)
            return
        self._finish(entry)

    async def _step(self, entry: _Tracked, strategy: RecoveryStrategy) -> None:
        recovery = entry.latest
        match recovery.state:
            case RecoveryState.PENDING | RecoveryState.WAITING:
                await self._attempt(entry, strategy, 1)
            case RecoveryState.IN_PROGRESS:
                await self._attempt(entry, strategy, None)
            case RecoveryState.RETRY_SCHEDULED:
                await self._wait_until(recovery.retry_due_at)
                await self._attempt(entry, strategy, recovery.context.attempt + 1)
            case RecoveryState.AWAITING_APPROVAL:
                await self._await_approval(entry)
            case _:  # Failed or Timeout recorded just before a crash
                await self._settle(entry, lifecycle.recorded_failure(recovery))

    async def _attempt(
        self, entry: _Tracked, strategy: RecoveryStrategy, attempt: int | None
    ) -> None:
        """Run ``attempt`` (None: re-run the one in progress) and record its outcome, in a slot.

        The gates are passed inside the slot, just before the attempt: a recovery held by a
        pause keeps its slot, harmlessly, since nothing acts while paused. The fleet-wide
        grant is waited for before the slot, so recoveries held by a cap or a storm keep
        none from the clusters that may act."""
        if self._grants is not None and not self._shadowed(strategy.name):
            why = await self._grants.until_granted(entry.latest, lambda why: self._wait(entry, why))
            if why is not None:
                storm = lifecycle.EscalationGate.STORM
                escalated = lifecycle.escalate(entry.latest, why, self._clock(), storm, STORM_STEPS)
                await self._record(entry, escalated)
                return
        async with self._slots:
            gate = await self._gates.until_may_act(
                strategy.name, lambda pause: self._hold(entry, pause)
            )
            entry.running = True
            try:
                stale = staleness(entry.latest, self._clock(), self.stale_after_s)
                if attempt is not None:
                    why = None if stale is None else f"re-verifying {stale.describe()}"
                    started = lifecycle.start_attempt(entry.latest, attempt, self._clock(), why)
                    await self._record(entry, started)
                if stale is not None and entry.latest.context.attempt == 1:
                    self._on_stale(strategy.name)
                timeout = self._timeouts.get(strategy.name, strategy.timeout)
                self._check_ours(entry)
                shadow = gate is Gate.SHADOW
                dry_run = self._dry_run or shadow
                check = approval.checker(self.approval, strategy.name, entry.latest)
                result = await run_attempt(strategy, entry.latest, timeout, dry_run, stale, check)
                now = self._clock()
                if isinstance(result, ApprovalRequired):
                    timeout_s = self.approval.timeout_s
                    await self._record(
                        entry, approval.awaiting(entry.latest, result, now, timeout_s)
                    )
                elif isinstance(result, RecoveryOutcome):
                    outcome = lifecycle.shadowed(result) if shadow else result
                    await self._record(entry, lifecycle.complete(entry.latest, outcome, now))
                else:
                    await self._record(entry, lifecycle.fail_attempt(entry.latest, result, now))
                    await self._settle(entry, result)
            finally:
                entry.running = False

    async def _hold(self, entry: _Tracked, pause: Switch) -> None:
        await self._wait(entry, hold_reason(pause))

    async def _wait(self, entry: _Tracked, reason: str) -> None:
        """Record that the recovery waits for a gate, once per reason (a resumed one that was
        held already is not recorded again): Waiting before its first attempt, else the
        same state again with the reason (a retry keeps its due time)."""
        recovery, now = entry.latest, self._clock()
        if recovery.transitions and recovery.transitions[-1].reason == reason:
            return
        if recovery.state in (RecoveryState.PENDING, RecoveryState.WAITING):
            waiting = lifecycle.advance(recovery, RecoveryState.WAITING, now, reason)
            await self._record(entry, waiting)
        else:
            await self._record(entry, lifecycle.hold(recovery, reason, now))

    async def _await_approval(self, entry: _Tracked) -> None:
        """Wait, holding no slot, for an approve command (then re-run the attempt) until the
        deadline, which the record fixes, so a restart or rebalance waits no longer (then
        Escalated). A rejection is a cancel, which ends this task."""
        timeout_s = self.approval.timeout_s
        remaining = (approval.deadline(entry.latest, timeout_s) - self._clock()).total_seconds()
        if not entry.decided.is_set():
            try:
                await asyncio.wait_for(entry.decided.wait(), max(remaining, 0.0))
            except TimeoutError:
                timed_out = approval.timed_out(entry.latest, self._clock(), timeout_s)
                await self._record(entry, timed_out)
                return
        reason, entry.approval = entry.approval or approval.APPROVED, None
        entry.decided.clear()
        await self._record(entry, approval.approve(entry.latest, reason, self._clock()))

    async def _settle(self, entry: _Tracked, failure: AttemptFailure) -> None:
        """Follow a failed attempt with RetryScheduled or Escalated."""
        delay_s = retry_delay(entry.latest.context.attempt, self._retry, self._rng)
        settled = lifecycle.after_failure(entry.latest, failure, self._clock(), delay_s)
        await self._record(entry, settled)

    async def _wait_until(self, due: datetime | None) -> None:
        """Sleep, holding no slot, until ``due`` (None or past: at once)."""
        if due is not None and (remaining := (due - self._clock()).total_seconds()) > 0:
            await asyncio.sleep(remaining)

    def _check_ours(self, entry: _Tracked) -> None:
        """Before every action and every record: a worker that lost the partition never acts."""
        if not entry.still_ours():
            raise _StandDown

    async def _record(self, entry: _Tracked, record: RecoveryResult) -> None:
        """Make ``record`` the latest state, then publish it (in order: one task per recovery)."""
        self._check_ours(entry)
        entry.latest = record
        if self._grants is not None and is_terminal(record):
            await self._grants.release(record)  # first: a crash in between resumes and re-asks
        await self._publisher.publish(record)
        if self._announce is not None and self.cluster_events:
            task = asyncio.create_task(self._announce(record), name=f"announce {record.id}")
            self._announcing.add(task)
            task.add_done_callback(self._announcing.discard)

    def _finish(self, entry: _Tracked) -> None:
        self._tracked.pop(entry.latest.id, None)
        self._finished[entry.latest.id] = None
        while len(self._finished) > self._remember_finished:
            self._finished.popitem(last=False)


async def _stop(entries: list[_Tracked]) -> None:
    """Cancel the entries' tasks (cancellation reaches a running strategy) and wait for them."""
    tasks = [entry.task for entry in entries if entry.task is not None]
    for entry in entries:
        entry.stopping = True
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)
