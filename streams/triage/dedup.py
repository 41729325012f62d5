"""Exact-duplicate and same-problem dedup over two changelogged key-value tables.

``seen``: event id -> its expiry (epoch seconds) and the recovery it went to, so a
redelivered event can be reconciled rather than dropped. ``targets``: "strategy|target" -> the
recovery that owns it, whether it is still active, and until when it keeps merging
after it ended (the cooldown). Both are plain mappings so the logic is testable
without Kafka; the worker passes Faust tables (never windowed ones: NOTES.md, #385)
and expires entries with ``sweep`` on a timer.
"""

from collections.abc import MutableMapping
from dataclasses import asdict, dataclass
from typing import Any

from streams.config import DedupSettings

TargetRow = dict[str, Any]
SeenRow = dict[str, Any]


@dataclass(frozen=True)
class SeenEvent:
    """An event id already triaged, until ``expires``, and where it went."""

    expires: float
    recovery_id: str | None


@dataclass(frozen=True)
class TargetClaim:
    """Who heals a (strategy, target) right now, or recently."""

    recovery_id: str
    active: bool = True
    cooldown_until: float | None = None

    def merges_at(self, now: float) -> bool:
        return self.active or (self.cooldown_until is not None and now < self.cooldown_until)

    def row(self) -> TargetRow:
        return asdict(self)


def target_key(strategy: str, target: str) -> str:
    return f"{strategy}|{target}"


class Dedup:
    """Remembers event ids and target claims; every call is one table read or write."""

    def __init__(
        self,
        seen: MutableMapping[str, SeenRow],
        targets: MutableMapping[str, TargetRow],
        settings: DedupSettings,
    ) -> None:
        self.seen = seen
        self.targets = targets
        self.settings = settings

    def seen_before(self, event_id: str | None, now: float) -> SeenEvent | None:
        """The earlier triage of this event id, within its TTL."""
        row = None if event_id is None else self.seen.get(event_id)
        if row is None or now >= row["expires"]:
            return None
        return SeenEvent(**row)

    def remember(self, event_id: str | None, now: float, recovery_id: str | None) -> None:
        if event_id is not None:
            expires = now + self.settings.event_id_ttl_s
            self.seen[event_id] = asdict(SeenEvent(expires, recovery_id))

    def claim_of(self, strategy: str, target: str, now: float) -> TargetClaim | None:
        """The recovery new errors for this (strategy, target) merge into, if any."""
        row = self.targets.get(target_key(strategy, target))
        if row is None:
            return None
        claim = TargetClaim(**row)
        return claim if claim.merges_at(now) else None

    def claim(self, strategy: str, target: str, recovery_id: str) -> None:
        self.targets[target_key(strategy, target)] = TargetClaim(recovery_id).row()

    def release(self, strategy: str, target: str, recovery_id: str, now: float) -> None:
        """The recovery ended: keep merging into it for the cooldown, then let go."""
        key = target_key(strategy, target)
        row = self.targets.get(key)
        if row is not None and row["recovery_id"] == recovery_id:
            until = now + self.settings.cooldown_s
            self.targets[key] = TargetClaim(recovery_id, False, until).row()

    def sweep(self, now: float) -> int:
        """Forget expired event ids and ended claims past their cooldown; how many."""
        stale_ids = [key for key, row in self.seen.items() if row["expires"] <= now]
        for key in stale_ids:
            del self.seen[key]
        stale_claims = [
            key for key, row in self.targets.items() if not TargetClaim(**row).merges_at(now)
        ]
        for key in stale_claims:
            del self.targets[key]
        return len(stale_ids) + len(stale_claims)
