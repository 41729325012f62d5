"""Storm mode's rule: when most of the fleet looks unreachable at once, suspect yourself.

The share is of the fleet inventory (every cluster the fleet file lists), never of the
clusters seen in errors: with 16 of 20 clusters reporting, the share is 80% whatever else
arrives. A cluster counts once per window however often it reports. The storm ends only
after the share has stayed below the threshold for the whole cooldown (NodeHealthCheck's
storm-recovery delay), so a fleet flickering at the threshold does not toggle it."""

from collections.abc import Collection
from dataclasses import dataclass, field


@dataclass
class StormWindow:
    inventory: Collection[str]
    threshold: float  # a share in (0, 1]: on at or above it
    window_s: float
    cooldown_s: float
    on_since: float | None = None
    _calm_since: float | None = None
    _reports: dict[str, float] = field(default_factory=dict)  # cluster -> last report

    def report(self, cluster: str, now: float) -> None:
        if cluster in self.inventory:
            self._reports[cluster] = now

    def share(self, now: float) -> float:
        """Clusters of the inventory that reported within the window, over its size."""
        for cluster, at in list(self._reports.items()):
            if at < now - self.window_s:
                del self._reports[cluster]
        return len(self._reports) / len(self.inventory) if self.inventory else 0.0

    def reporting(self) -> int:
        return len(self._reports)

    def engages(self, now: float) -> bool:
        """True once, at the moment the storm begins."""
        if self.on_since is None and self.share(now) >= self.threshold:
            self.on_since, self._calm_since = now, None
            return True
        return False

    def ends(self, now: float) -> bool:
        """True once, when the share has stayed below the threshold for the cooldown."""
        if self.on_since is None:
            return False
        if self.share(now) >= self.threshold:
            self._calm_since = None
            return False
        self._calm_since = now if self._calm_since is None else self._calm_since
        if now - self._calm_since >= self.cooldown_s:
            self.on_since = self._calm_since = None
            return True
        return False
