"""One decision per accepted error, so every error is accounted for."""

from dataclasses import dataclass

from schemas.records import TMCError
from strategies.base import default_target
from strategies.registry import ConfiguredStrategy, StrategyRegistry
from streams.triage.dedup import Dedup
from streams.triage.ids import recovery_id, trigger_of

#: The strategy name recorded on escalations that no strategy could take.
NO_STRATEGY = "none"


@dataclass(frozen=True)
class Duplicate:
    """A repeated event id: dropped and counted. ``recovery_id`` is where it went the first
    time, so a redelivery after a crash can re-issue that (idempotent) outcome."""

    event_id: str
    recovery_id: str | None


@dataclass(frozen=True)
class Merge:
    """The same problem as an active (or cooling-down) recovery: recorded on it."""

    recovery_id: str
    strategy: str
    target: str


@dataclass(frozen=True)
class Start:
    """A new recovery, dispatched to its strategy's request topic."""

    recovery_id: str
    strategy: ConfiguredStrategy
    target: str


@dataclass(frozen=True)
class Escalate:
    """Nothing may act on this error: an Escalated recovery with the reason, which later
    errors of the same type and target merge into during the cooldown."""

    recovery_id: str
    target: str
    reason: str


Decision = Duplicate | Merge | Start | Escalate


def decide(
    error: TMCError, registry: StrategyRegistry, dedup: Dedup, now: float, source: str
) -> Decision:
    """Drop, merge, start or escalate ``error``; ``source`` is its topic/partition/offset."""
    prior = dedup.seen_before(error.event_id, now)
    if prior is not None:
        assert error.event_id is not None
        return Duplicate(error.event_id, prior.recovery_id)
    decision = _route(error, registry, dedup, now, trigger_of(error, source))
    dedup.remember(error.event_id, now, decision.recovery_id)
    return decision


def _route(
    error: TMCError, registry: StrategyRegistry, dedup: Dedup, now: float, trigger: str
) -> Merge | Start | Escalate:
    chosen = registry.select(error)
    if chosen is None:
        target = f"{default_target(error)}/{error.type.value}"
        name = NO_STRATEGY
    else:
        target = chosen.strategy.target(error)
        name = chosen.name
    claim = dedup.claim_of(name, target, now)
    if claim is not None:
        dedup.record_merge(name, target, error.event_id or trigger)
        return Merge(claim.recovery_id, name, target)
    new_id = recovery_id(name, target, trigger)
    dedup.claim(name, target, new_id)
    if chosen is None:
        dedup.release(name, target, new_id, now)
        why = "not retryable" if not error.is_retryable() else "no enabled strategy"
        return Escalate(new_id, target, f"no strategy: {error.type.value} ({why})")
    return Start(new_id, chosen, target)
