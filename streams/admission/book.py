"""The admission owner's book: which recoveries hold a grant, which wait, and the storm.

Pure and synchronous: the owner (owner.py) feeds it asks, releases and ticks, and writes
what it returns to the grants topic. It counts *clusters* under recovery, not recoveries:
a second recovery on a cluster already under recovery adds nothing to the fleet's risk and
is granted at once. Idempotent by recovery id: an ask seen before (a redelivery, or the
recovery resumed on another worker) changes nothing, and its answer is already on the topic.
"""

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from streams.admission.caps import Cap
from streams.admission.records import Ask, Grant, Op, Storm, Verdict
from streams.admission.storm import StormWindow

STORM_REASON = "suspected control-plane or network partition"


@dataclass(frozen=True)
class Rules:
    """The caps, the inventory they are shares of, and what a storm stops."""

    inventory: Mapping[str, str]  # cluster -> its logical cluster (the fleet file)
    max_clusters: Cap
    max_per_logical_cluster: Cap
    storm_error_types: Collection[str]
    storm_strategies: Collection[str]  # disruptive: held while the storm lasts

    def fleet_cap(self) -> int:
        return self.max_clusters.of(len(self.inventory))

    def logical_cap(self, logical_cluster: str) -> int:
        return self.max_per_logical_cluster.of(self._sizes[logical_cluster])

    @cached_property
    def _sizes(self) -> Counter[str]:
        """Clusters per logical cluster, counted once (asked for at every decision)."""
        return Counter(self.inventory.values())


@dataclass
class Changes:
    """What one step decided: answers to write, releases to tombstone, a storm change."""

    grants: list[Grant] = field(default_factory=list)
    released: list[str] = field(default_factory=list)  # grant keys
    storm: Storm | None = None


@dataclass
class GrantBook:
    rules: Rules
    storm: StormWindow
    granted: dict[str, Grant] = field(default_factory=dict)  # by grant key
    waiting: dict[str, Grant] = field(default_factory=dict)
    escalated: dict[str, Grant] = field(default_factory=dict)

    def seed(self, grant: Grant) -> None:
        """A record read back from the grants topic (a new owner rebuilding the book)."""
        {
            Verdict.GRANTED: self.granted,
            Verdict.WAITING: self.waiting,
            Verdict.ESCALATE: self.escalated,
        }[grant.verdict][grant.ask.key] = grant

    def ask(self, ask: Ask, seq: int, now: float) -> Changes:
        changes = Changes()
        if self.knows(ask.key):
            return changes
        if self.report(ask, now) and self.storm.engages(now):
            reason = self._storm_reason(now)
            changes.storm = Storm(True, now, reason)
            grant = Grant(ask, Verdict.ESCALATE, reason, seq)
            self.escalated[ask.key] = grant
            changes.grants.append(grant)
            return changes
        verdict, reason = self._decide(ask)
        grant = Grant(ask, verdict, reason, seq)
        (self.granted if verdict is Verdict.GRANTED else self.waiting)[ask.key] = grant
        changes.grants.append(grant)
        return changes

    def knows(self, key: str) -> bool:
        """Answered already (a redelivery, or a recovery resumed on another worker)."""
        return key in self.granted or key in self.waiting or key in self.escalated

    def report(self, ask: Ask, now: float) -> bool:
        """Count ``ask`` in the storm window if it is a storm error; the owner reports a
        whole batch before deciding it, so a burst that tips the storm grants nothing."""
        storm_error = ask.op is Op.ASK and ask.error_type in self.rules.storm_error_types
        if storm_error and not ask.resumed:
            self.storm.report(ask.cluster, now)
        return storm_error and not ask.resumed

    def release(self, key: str) -> Changes:
        """A recovery ended (or was cancelled while waiting): its place goes to the next."""
        changes = Changes()
        held = [book for book in (self.granted, self.waiting, self.escalated) if key in book]
        for book in held:
            del book[key]
        if held:
            changes.released.append(key)
            changes.grants += self._drain()
        return changes

    def tick(self, now: float) -> Changes:
        """Time passes: the window forgets old reports, a storm may end, the line may move."""
        changes = Changes()
        if self.storm.ends(now):
            changes.storm = Storm(False, now, "storm over: " + self._share_text(now))
            changes.grants += self._drain()
        return changes

    def under_recovery(self) -> set[str]:
        return {grant.ask.cluster for grant in self.granted.values()}

    def _decide(self, ask: Ask) -> tuple[Verdict, str]:
        if ask.resumed:
            return Verdict.GRANTED, "resumed: it was under recovery already"
        if self.storm.on_since is not None and ask.strategy in self.rules.storm_strategies:
            return Verdict.WAITING, f"storm mode: {STORM_REASON}; disruptive recoveries wait"
        clusters = self.under_recovery()
        if ask.cluster in clusters:
            return Verdict.GRANTED, "its cluster is under recovery already"
        cap = self.rules.fleet_cap()
        if len(clusters) >= cap:
            return Verdict.WAITING, f"fleet cap {len(clusters)}/{cap} clusters under recovery"
        logical = ask.logical_cluster
        in_logical = {
            g.ask.cluster for g in self.granted.values() if g.ask.logical_cluster == logical
        }
        cap = self.rules.logical_cap(logical)
        if len(in_logical) >= cap:
            why = (
                f"logical cluster cap {len(in_logical)}/{cap} clusters of {logical} under recovery"
            )
            return Verdict.WAITING, why
        return (
            Verdict.GRANTED,
            f"{len(clusters) + 1}/{self.rules.fleet_cap()} clusters under recovery",
        )

    def _drain(self) -> list[Grant]:
        """Grant the waiting ones that now fit, oldest first (a blocked one lets others by)."""
        granted = []
        for key, waiting in sorted(self.waiting.items(), key=lambda item: item[1].seq):
            verdict, reason = self._decide(waiting.ask)
            if verdict is Verdict.GRANTED:
                del self.waiting[key]
                grant = Grant(waiting.ask, verdict, reason, waiting.seq)
                self.granted[key] = grant
                granted.append(grant)
        return granted

    def _share_text(self, now: float) -> str:
        share, known = self.storm.share(now), len(self.rules.inventory)
        window = f"{self.storm.window_s:g}s"
        return (
            f"{self.storm.reporting()}/{known} clusters ({share:.0%}) unreachable within {window}"
        )

    def _storm_reason(self, now: float) -> str:
        return f"{STORM_REASON}: {self._share_text(now)}; disruptive recoveries held"
