"""One decision per accepted error, so every error is accounted for."""

from dataclasses import dataclass
from datetime import UTC, datetime

from schemas.records import Silence, TMCError
from strategies.base import default_target
from strategies.registry import ConfiguredStrategy, StrategyRegistry
from streams.silences.state import SilenceSet
from streams.triage.dedup import Dedup, SeenEvent
from streams.triage.guards import ClusterGuards
from streams.triage.ids import RETRY_OF, Source, recovery_id, trigger_of

#: The strategy name recorded on escalations that no strategy could take.
NO_STRATEGY = "none"
#: The gate an escalation names (``context.metadata``) when no strategy could take the error.
NO_STRATEGY_GATE = "no_strategy"


@dataclass(frozen=True)
class Duplicate:
    """A repeated event id: dropped and counted. A resend (another record) is nothing more.
    A ``redelivery`` (the same record again, after a crash or a rebalance) may find that the
    outcome of the first time never got out; ``recovery_id`` is where it went then."""

    event_id: str
    recovery_id: str
    redelivery: bool = False


@dataclass(frozen=True)
class Merge:
    """The same problem as an active (or cooling-down) recovery: recorded on it.
    ``silence``: the silence that suppressed that recovery, if one did."""

    recovery_id: str
    strategy: str
    target: str
    silence: str | None = None


@dataclass(frozen=True)
class Start:
    """A new recovery, dispatched to its strategy's request topic."""

    recovery_id: str
    strategy: ConfiguredStrategy
    target: str


@dataclass(frozen=True)
class Escalate:
    """Nothing may act on this error: an Escalated recovery with the reason, which later
    errors of the same type and target merge into during the cooldown. ``gate``: the safety
    gate that stopped the chosen ``strategy`` (streams/triage/guards.py), if one did."""

    recovery_id: str
    target: str
    reason: str
    strategy: str = NO_STRATEGY
    gate: str = NO_STRATEGY_GATE
    next_steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suppress:
    """An active silence covers this error: a recovery that ends Suppressed at once, which
    later errors for its target merge into while the silence lasts. ``strategy``: the one
    that would have acted (NO_STRATEGY: the error would have escalated)."""

    recovery_id: str
    strategy: str
    target: str
    silence: Silence


Decision = Duplicate | Merge | Start | Escalate | Suppress


def decide(
    error: TMCError,
    registry: StrategyRegistry,
    dedup: Dedup,
    now: float,
    source: Source,
    guards: ClusterGuards | None = None,
    silences: SilenceSet | None = None,
) -> Decision:
    """Drop, merge, start, suppress or escalate ``error``, read at ``source``; ``guards``: the
    safety gates a new recovery must pass (none: every recovery may start); ``silences``: the
    silences in force (none: nothing is silenced)."""
    trigger = trigger_of(error, source)
    prior = dedup.seen_before(error.event_id, now)
    if prior is not None:
        assert error.event_id is not None
        redelivery = prior.redelivered_as(source)
        if redelivery:
            _repair(error, registry, dedup, now, source, prior, trigger, silences)
        return Duplicate(error.event_id, prior.recovery_id, redelivery)
    decision = _route(error, registry, dedup, now, source, trigger, guards, silences)
    dedup.remember(error.event_id, now, decision.recovery_id, source)
    return decision


def unclaimed(error: TMCError, recovery_id: str, target: str) -> Escalate:
    """Nothing may act on ``error``: escalated at once, with what the on-call can do."""
    why = "not retryable" if not error.is_retryable() else "no enabled strategy"
    steps = (
        f"handle this {error.type_name} error by hand",
        "or enable a strategy that takes it (enabledStrategies), or register one",
    )
    return Escalate(
        recovery_id, target, f"no strategy: {error.type_name} ({why})", next_steps=steps
    )


def target_of(error: TMCError, registry: StrategyRegistry) -> tuple[ConfiguredStrategy | None, str]:
    """The strategy for ``error`` (None: nothing may act), and the target it heals."""
    chosen = registry.select(error)
    if chosen is None:
        return None, f"{default_target(error)}/{error.type_name}"
    return chosen, chosen.strategy.target(error)


def _route(
    error: TMCError,
    registry: StrategyRegistry,
    dedup: Dedup,
    now: float,
    source: Source,
    trigger: str,
    guards: ClusterGuards | None,
    silences: SilenceSet | None,
) -> Merge | Start | Escalate | Duplicate | Suppress:
    chosen, target = target_of(error, registry)
    name = NO_STRATEGY if chosen is None else chosen.name
    claim = dedup.claim_of(name, target, now)
    if claim is not None and claim.applied(source.topic, source.offset):
        # This very record was triaged before, but its seen row was lost in a crash.
        dedup.renote(name, target)
        return Duplicate(error.event_id or trigger, claim.recovery_id, redelivery=True)
    retry = error.context.get(RETRY_OF)
    if claim is not None and retry == claim.recovery_id:
        # An operator's retry of that recovery, which has ended (the API emits one only
        # then), though its ending may not have reached triage yet: a new recovery, not
        # a merge into the old one's cooldown.
        claim = None
    if claim is not None and claim.silence is not None and not _lasts(claim.silence, silences, now):
        # A suppressed recovery absorbs errors only while its silence lasts: ended early,
        # the next error starts a recovery as if there had been none.
        claim = None
    if chosen is not None and guards is not None:
        guards.recurred(name, target, now)
    if claim is not None:
        # Merging comes first: a silence set after a recovery started does not touch it.
        dedup.record_merge(name, target, error.event_id or trigger, source)
        return Merge(claim.recovery_id, name, target, claim.silence)
    new_id = recovery_id(name, target, trigger)
    # An operator's retry is a person's decision: silences hold automatic recoveries only.
    silence = None if retry else _covering(error, chosen, silences, now)
    if silence is not None:
        dedup.suppress(name, target, new_id, source, silence.id, silence.expires_at.timestamp())
        return Suppress(new_id, name, target, silence)
    dedup.claim(name, target, new_id, source)
    if chosen is None:
        dedup.release(name, target, new_id, now)
        return unclaimed(error, new_id, target)
    # The gates, too, hold automatic recoveries only.
    refusal = None if guards is None or retry else guards.admit(name, target, new_id, now)
    if refusal is not None:
        dedup.release(name, target, new_id, now)
        return Escalate(new_id, target, refusal.reason, name, refusal.gate, refusal.next_steps)
    return Start(new_id, chosen, target)


def _repair(
    error: TMCError,
    registry: StrategyRegistry,
    dedup: Dedup,
    now: float,
    source: Source,
    prior: SeenEvent,
    trigger: str,
    silences: SilenceSet | None,
) -> None:
    """A redelivered record whose seen row got out but whose claim write did not: apply the
    claim write again (once: the claim's offsets say whether it is there); a suppressed one's
    if its silence still covers it."""
    chosen, target = target_of(error, registry)
    name = NO_STRATEGY if chosen is None else chosen.name
    claim = dedup.current_claim(name, target)
    if claim is not None and claim.recovery_id == prior.recovery_id:
        if claim.applied(source.topic, source.offset):
            dedup.renote(name, target)
        else:
            dedup.record_merge(name, target, error.event_id or trigger, source)
    elif claim is None and prior.recovery_id == recovery_id(name, target, trigger):
        silence = _covering(error, chosen, silences, now)
        if silence is not None:
            until = silence.expires_at.timestamp()
            dedup.suppress(name, target, prior.recovery_id, source, silence.id, until)
            return
        dedup.claim(name, target, prior.recovery_id, source)
        if chosen is None:
            dedup.release(name, target, prior.recovery_id, now)


def _covering(
    error: TMCError, chosen: ConfiguredStrategy | None, silences: SilenceSet | None, now: float
) -> Silence | None:
    """The silence that covers ``error`` now, under its strategy (or none may act), if any."""
    if silences is None:
        return None
    strategy = None if chosen is None else chosen.name
    return silences.covering(error, strategy, datetime.fromtimestamp(now, UTC))


def _lasts(silence_id: str, silences: SilenceSet | None, now: float) -> bool:
    return silences is not None and silences.active(silence_id, datetime.fromtimestamp(now, UTC))
