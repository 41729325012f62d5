"""One decision per accepted error, so every error is accounted for."""

from dataclasses import dataclass

from schemas.records import TMCError
from strategies.registry import ConfiguredStrategy, StrategyRegistry
from streams.triage.dedup import Dedup
from streams.triage.ids import recovery_id, trigger_of


@dataclass(frozen=True)
class Duplicate:
    """A repeated event id: dropped, and counted."""

    event_id: str


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
    """Nothing may act on this error: it goes to the escalations topic with the reason."""

    reason: str


Decision = Duplicate | Merge | Start | Escalate


def decide(
    error: TMCError, registry: StrategyRegistry, dedup: Dedup, now: float, source: str
) -> Decision:
    """Drop, merge, start or escalate ``error``; ``source`` is its topic/partition/offset."""
    if dedup.is_duplicate(error.event_id, now):
        assert error.event_id is not None
        return Duplicate(error.event_id)
    chosen = registry.select(error)
    if chosen is None:
        why = "not retryable" if not error.is_retryable() else "no enabled strategy"
        return Escalate(f"no strategy: {error.type.value} ({why})")
    target = chosen.strategy.target(error)
    claim = dedup.claim_of(chosen.name, target, now)
    if claim is not None:
        return Merge(claim.recovery_id, chosen.name, target)
    new_id = recovery_id(chosen.name, target, trigger_of(error, source))
    dedup.claim(chosen.name, target, new_id)
    return Start(new_id, chosen, target)
