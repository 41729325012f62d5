"""Exact-duplicate and same-problem dedup over two changelogged key-value tables.

``seen``: event id -> its expiry (epoch seconds), the recovery it went to and the record it
was read from, so a redelivery (same record) can be told from a resend (same event id, new
record): a resend is only counted, a redelivery is reconciled. ``targets``: "strategy|target"
-> the recovery that owns it, whether it is still active, until when it keeps merging
after it ended (the cooldown), the errors merged into it, and per source topic the offset of
the last record applied to it.

The two rows of one error are two changelog records, and a crash can keep one and lose the
other. The claim's offsets make that harmless: its partition's records are triaged in order,
so a record at or below the claim's offset for its topic is already counted, and a
redelivery whose claim lacks it is counted once more, exactly once. Both are plain mappings so
the logic is testable without Kafka; the worker passes Faust tables (never windowed ones:
NOTES.md, #385). Rows remember their partition, so that expiry can run as a per-partition
tick inside stream iteration, where table writes land on the right changelog partition.
"""

from collections.abc import MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any

from streams.config import DedupSettings
from streams.partitioning import row_key
from streams.triage.ids import Source

TargetRow = dict[str, Any]
SeenRow = dict[str, Any]

#: Merged error ids kept per recovery; the count keeps going past it.
MAX_MERGED_IDS = 200


@dataclass(frozen=True)
class SeenEvent:
    """An event id already triaged, until ``expires``, and where it went."""

    expires: float
    recovery_id: str | None
    partition: int = 0
    source: str = ""

    def redelivered_as(self, source: Source) -> bool:
        """Whether ``source`` is the very record this event was first triaged from."""
        return self.source == str(source)


@dataclass(frozen=True)
class TargetClaim:
    """Who heals a (strategy, target) right now, or recently, and what merged into it."""

    recovery_id: str
    active: bool = True
    cooldown_until: float | None = None
    merged_ids: tuple[str, ...] = ()
    merged_count: int = 0
    flushed_count: int = 0  # merges already written to the recovery's row
    partition: int = 0
    offsets: dict[str, int] = field(default_factory=dict)  # topic -> last record applied

    @classmethod
    def from_row(cls, row: TargetRow) -> "TargetClaim":
        return cls(**{**row, "merged_ids": tuple(row.get("merged_ids", ()))})

    def merges_at(self, now: float) -> bool:
        return self.active or (self.cooldown_until is not None and now < self.cooldown_until)

    def applied(self, source: Source) -> bool:
        """Whether the record at ``source`` has already been counted on this claim."""
        return source.offset <= self.offsets.get(source.topic, -1)

    def with_merge(self, error_id: str, source: Source) -> "TargetClaim":
        ids = self.merged_ids
        if len(ids) < MAX_MERGED_IDS and error_id not in ids:
            ids = (*ids, error_id)
        offsets = {**self.offsets, source.topic: source.offset}
        return replace(self, merged_ids=ids, merged_count=self.merged_count + 1, offsets=offsets)

    def row(self) -> TargetRow:
        # Spelled out: dataclasses.asdict deep-copies and was a tenth of triage's time.
        return {
            "recovery_id": self.recovery_id,
            "active": self.active,
            "cooldown_until": self.cooldown_until,
            "merged_ids": list(self.merged_ids),
            "merged_count": self.merged_count,
            "flushed_count": self.flushed_count,
            "partition": self.partition,
            "offsets": self.offsets,
        }


def target_key(strategy: str, target: str) -> str:
    return f"{strategy}|{target}"


class Dedup:
    """The dedup rows one error touches (its cluster's), tagged with the partition they are
    written to; ``unflushed`` and ``sweep`` cover every row of that partition."""

    def __init__(
        self,
        seen: MutableMapping[str, SeenRow],
        targets: MutableMapping[str, TargetRow],
        settings: DedupSettings,
        partition: int = 0,
        cluster: str = "",
    ) -> None:
        """Rows are keyed ``<cluster>~<event id>`` and ``<cluster>~<strategy>|<target>``."""
        self.seen = seen
        self.targets = targets
        self.settings = settings
        self.partition = partition
        self.cluster = cluster

    def claim_key(self, strategy: str, target: str) -> str:
        return row_key(self.cluster, target_key(strategy, target))

    def seen_before(self, event_id: str | None, now: float) -> SeenEvent | None:
        """The earlier triage of this event id, within its TTL."""
        row = None if event_id is None else self.seen.get(row_key(self.cluster, event_id))
        if row is None or now >= row["expires"]:
            return None
        return SeenEvent(**row)

    def remember(
        self, event_id: str | None, now: float, recovery_id: str | None, source: Source
    ) -> None:
        if event_id is not None:
            expires = now + self.settings.event_id_ttl_s
            self.seen[row_key(self.cluster, event_id)] = {
                "expires": expires,
                "recovery_id": recovery_id,
                "partition": self.partition,
                "source": str(source),
            }

    def claim_of(self, strategy: str, target: str, now: float) -> TargetClaim | None:
        """The recovery new errors for this (strategy, target) merge into, if any."""
        claim = self.current_claim(strategy, target)
        return claim if claim is not None and claim.merges_at(now) else None

    def current_claim(self, strategy: str, target: str) -> TargetClaim | None:
        """The claim row as stored, expired or not."""
        row = self.targets.get(self.claim_key(strategy, target))
        return None if row is None else TargetClaim.from_row(row)

    def claim(self, strategy: str, target: str, recovery_id: str, source: Source) -> None:
        offsets = {source.topic: source.offset}
        claim = TargetClaim(recovery_id, partition=self.partition, offsets=offsets)
        self.targets[self.claim_key(strategy, target)] = claim.row()

    def record_merge(
        self, strategy: str, target: str, error_id: str, source: Source
    ) -> TargetClaim:
        """Count ``error_id``, read at ``source``, on the claim that absorbed it (it must
        exist); a record the claim has already counted is not counted again."""
        claim = self.current_claim(strategy, target)
        assert claim is not None, "merge into a missing claim"
        if claim.applied(source):
            return claim
        merged = claim.with_merge(error_id, source)
        self.targets[self.claim_key(strategy, target)] = merged.row()
        return merged

    def unflushed(self) -> list[str]:
        """Keys of this partition's claims with merges not yet on their recovery's row."""
        return [
            key
            for key, row in self.targets.items()
            if row.get("partition", 0) == self.partition
            and row.get("merged_count", 0) > row.get("flushed_count", 0)
        ]

    def mark_flushed(self, key: str) -> TargetClaim | None:
        """The claim under ``key``, now recorded as flushed (None if it is gone)."""
        row = self.targets.get(key)
        if row is None:
            return None
        claim = TargetClaim.from_row(row)
        self.targets[key] = replace(claim, flushed_count=claim.merged_count).row()
        return claim

    def release(self, strategy: str, target: str, recovery_id: str, now: float) -> None:
        """The recovery ended: keep merging into it for the cooldown, then let go."""
        claim = self.current_claim(strategy, target)
        if claim is not None and claim.recovery_id == recovery_id and claim.active:
            until = now + self.settings.cooldown_s
            ended = replace(claim, active=False, cooldown_until=until)
            self.targets[self.claim_key(strategy, target)] = ended.row()

    def sweep(self, now: float) -> int:
        """Forget this partition's expired event ids and cooled-down claims; how many."""
        stale_ids = [
            key
            for key, row in self.seen.items()
            if row["expires"] <= now and row.get("partition", 0) == self.partition
        ]
        for key in stale_ids:
            del self.seen[key]
        stale_claims = [
            key
            for key, row in self.targets.items()
            if row.get("partition", 0) == self.partition
            and not TargetClaim.from_row(row).merges_at(now)
        ]
        for key in stale_claims:
            del self.targets[key]
        return len(stale_ids) + len(stale_claims)
