"""The circuit breaker of one (strategy, cluster): pure rules, no I/O.

A strategy that keeps failing on a cluster (its recoveries acted and escalated, several in a
row) is likely making things worse or fighting something it cannot fix, so the breaker stops
it from touching that cluster again for a while: closed -> open after ``failure_threshold``
failures in a row; open -> half-open ``reset_timeout_s`` after it opened; half-open lets one
trial recovery through, whose success closes it and whose failure opens it again.
"""

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from streams.config import CircuitBreakerSettings


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True, slots=True)
class Breaker:
    """``opened_at`` (epoch seconds) is set while open or half-open; ``trial`` is the one
    recovery let through while half-open, until it ends; ``applied`` is the results offset of
    the last ending counted, so an ending read twice (after a crash) counts once."""

    failures: int = 0
    opened_at: float | None = None
    trial: str | None = None
    applied: int = -1

    def state(self, now: float, settings: CircuitBreakerSettings) -> CircuitState:
        if self.opened_at is None:
            return CircuitState.CLOSED
        if now < self.half_opens_at(settings):
            return CircuitState.OPEN
        return CircuitState.HALF_OPEN

    def half_opens_at(self, settings: CircuitBreakerSettings) -> float:
        assert self.opened_at is not None
        return self.opened_at + settings.reset_timeout_s

    @property
    def idle(self) -> bool:
        """Closed with nothing counted: the same as no row at all."""
        return self.failures == 0 and self.opened_at is None and self.trial is None

    def admit(
        self, recovery_id: str, now: float, settings: CircuitBreakerSettings
    ) -> "tuple[Breaker, str | None]":
        """Whether a new recovery may start: the breaker after it, and why not (None: it
        may). While half-open the first recovery becomes the trial and the rest escalate;
        the trial asking again (a redelivery re-issuing it) is still the trial."""
        state = self.state(now, settings)
        if state is CircuitState.CLOSED:
            return self, None
        if state is CircuitState.HALF_OPEN and self.trial in (None, recovery_id):
            return replace(self, trial=recovery_id), None
        if state is CircuitState.HALF_OPEN:
            return self, f"half-open, its trial recovery {self.trial} is still running"
        opened, half_opens = iso(self.opened_at), iso(self.half_opens_at(settings))
        return self, f"opened at {opened}, half-opens at {half_opens}"

    def failed(
        self, recovery_id: str, at: float, offset: int, settings: CircuitBreakerSettings
    ) -> "Breaker":
        """A recovery that acted escalated: one more failure in a row; the trial's failure,
        or reaching the threshold, opens the breaker (again) as of ``at``."""
        if offset <= self.applied:
            return self
        failures = self.failures + 1
        opens = recovery_id == self.trial or (
            self.opened_at is None and failures >= settings.failure_threshold
        )
        opened_at = at if opens else self.opened_at
        trial = None if recovery_id == self.trial else self.trial
        return Breaker(failures, opened_at, trial, offset)

    def succeeded(self, offset: int) -> "Breaker":
        """A recovery that acted completed: the strategy works on this cluster again."""
        return self if offset <= self.applied else Breaker(applied=offset)

    def cancelled(self, recovery_id: str, offset: int) -> "Breaker":
        """A cancelled trial proved nothing: the next error may be the trial."""
        if offset <= self.applied or recovery_id != self.trial:
            return self
        return replace(self, trial=None, applied=offset)

    def encode(self) -> bytes:
        fields = [self.failures, self.opened_at, self.trial, self.applied]
        return json.dumps(fields, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> "Breaker":
        failures, opened_at, trial, applied = json.loads(raw)
        return cls(int(failures), opened_at, trial, int(applied))


def iso(at: float | None) -> str:
    """Epoch seconds as an ISO 8601 UTC time, for people."""
    assert at is not None
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
