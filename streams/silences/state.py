"""Every silence by id, as the compacted silences topic holds them, and what they decide.

A silence is one key (its id) whose record is its whole latest value. Ending one early
rewrites it with ``expires_at`` the time it ended (as Alertmanager expires one), so an
expired silence stays listable, with who set it and why, for ``retention_s``; then the
writer's sweep writes its tombstone and compaction forgets it.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from schemas.records import Silence, TMCError


@dataclass(frozen=True)
class SilenceSet:
    """Every silence the topic holds, by id."""

    silences: dict[str, Silence] = field(default_factory=dict)

    def apply(self, key: str, silence: Silence | None) -> "SilenceSet":
        """After the record ``key`` -> ``silence`` (None: a tombstone)."""
        silences = dict(self.silences)
        if silence is None:
            silences.pop(key, None)
        else:
            silences[key] = silence
        return replace(self, silences=silences)

    def covering(self, error: TMCError, strategy: str | None, now: datetime) -> Silence | None:
        """The active silence that covers ``error`` under ``strategy`` (None: no strategy may
        act), or None. Of several, the one that lasts longest, so its suppressed recovery
        absorbs the errors for as long as any of them would."""
        found = [s for s in self.silences.values() if s.matches(error, strategy, now)]
        return max(found, key=lambda s: (s.expires_at, s.id), default=None)

    def active(self, silence_id: str, now: datetime) -> bool:
        """Whether the silence ``silence_id`` still silences at ``now`` (an unknown one
        does not: it was removed)."""
        silence = self.silences.get(silence_id)
        return silence is not None and silence.active(now)

    def ended(self, now: datetime, retention: timedelta) -> list[Silence]:
        """The silences that ended more than ``retention`` before ``now``: due for removal."""
        return [s for s in self.silences.values() if s.expires_at <= now - retention]

    def listing(self, now: datetime, retention: timedelta) -> list[dict[str, Any]]:
        """The API's answer: active and pending silences, then those that ended within
        ``retention``, latest expiry first."""
        shown = [s for s in self.silences.values() if s.expires_at > now - retention]
        shown.sort(key=lambda s: (s.expires_at, s.id), reverse=True)
        return [view(s, now) for s in shown]


def status(silence: Silence, now: datetime) -> str:
    """Alertmanager's words: ``pending`` (not started), ``active`` or ``expired``."""
    if now < silence.starts_at:
        return "pending"
    return "active" if silence.active(now) else "expired"


def view(silence: Silence, now: datetime) -> dict[str, Any]:
    """One silence as the API and the CLI show it."""
    matchers = {k: v for k, v in _matchers(silence).items() if v is not None}
    return {
        "id": silence.id,
        "status": status(silence, now),
        "matchers": matchers,
        "reason": silence.reason,
        "created_by": silence.created_by,
        "created_at": silence.created_at.isoformat(),
        "starts_at": silence.starts_at.isoformat(),
        "expires_at": silence.expires_at.isoformat(),
    }


def _matchers(silence: Silence) -> dict[str, str | None]:
    m = silence.matchers
    return {
        "cluster_name": m.cluster_name,
        "logical_cluster": m.logical_cluster,
        "strategy": m.strategy,
        "error_type": None if m.error_type is None else m.error_type.value,
        "custom_type": m.custom_type,
        "component": m.component,
    }


def suppressed_reason(silence: Silence) -> str:
    """The reason on a suppressed recovery: which silence, whose, why, and until when."""
    return (
        f"suppressed by silence {silence.id} (created by {silence.created_by}: "
        f"{silence.reason}) until {silence.expires_at.isoformat()}"
    )
