"""Flap damping for one (strategy, target): pure rules, no I/O.

A recovery that completes but whose target breaks again soon after has not healed anything;
left alone, the service would heal and re-heal it forever. A completed recovery holds only if
no new error for its target arrives within ``healthy_delay_s`` (NodeHealthCheck's
healthyDelay); one that does not is a relapse. ``max_recoveries`` relapses within
``window_s`` make the target flapping: its next error escalates ("recovery loop") instead of
starting another recovery, until the relapses age out of the window. A recovery that holds
clears the count: the target was healthy again.
"""

import json
from dataclasses import dataclass, replace

from streams.config import FlapDampingSettings


@dataclass(frozen=True, slots=True)
class FlapRecord:
    """``relapses``: when each recovery that did not hold completed (epoch seconds, oldest
    first); ``completed_at``: the last completion no error has followed yet; ``applied``:
    the results offset of the last completion counted, so one read twice counts once."""

    relapses: tuple[float, ...] = ()
    completed_at: float | None = None
    applied: int = -1

    @property
    def idle(self) -> bool:
        """Nothing to remember: the same as no row at all."""
        return not self.relapses and self.completed_at is None

    def completed(self, at: float, offset: int) -> "FlapRecord":
        """A recovery of the target completed at ``at`` (read at results ``offset``)."""
        if offset <= self.applied:
            return self
        return replace(self, completed_at=at, applied=offset)

    def recurred(self, now: float, settings: FlapDampingSettings) -> "FlapRecord":
        """A new error for the target arrived at ``now``: the last completion relapsed if it
        is within the healthy delay, else it held and the count starts again."""
        relapses, since = self.relapses, now - settings.window_s
        if self.completed_at is None and (not relapses or relapses[0] > since):
            return self  # nothing relapsed, held or aged out: the storm's common case
        if self.completed_at is not None:
            if now - self.completed_at <= settings.healthy_delay_s:
                relapses = (*relapses, self.completed_at)
            else:
                relapses = ()
        return replace(self, relapses=tuple(t for t in relapses if t > since), completed_at=None)

    def loop(self, now: float, settings: FlapDampingSettings) -> int | None:
        """How many relapses within the window make it a recovery loop (None: it is not)."""
        since = now - settings.window_s
        count = sum(1 for t in self.relapses if t > since)
        return count if count >= settings.max_recoveries else None

    def expires(self, settings: FlapDampingSettings) -> float:
        """When the record no longer says anything: a completion past the healthy delay has
        held (which clears the relapses), and relapses age out of the window."""
        if self.completed_at is not None:
            return self.completed_at + settings.healthy_delay_s
        return self.relapses[-1] + settings.window_s if self.relapses else float("-inf")

    def encode(self) -> bytes:
        fields = [list(self.relapses), self.completed_at, self.applied]
        return json.dumps(fields, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> "FlapRecord":
        relapses, completed_at, applied = json.loads(raw)
        return cls(tuple(relapses), completed_at, int(applied))


#: The record of a target with no row: shared, as records are immutable.
NO_RECORD = FlapRecord()
