"""Exact-duplicate and same-problem dedup: each partition's state in memory, written back to
two changelogged tables once per batch (streams/triage/rows.py has their formats).

``seen``: every event id triaged in the last ``event_id_ttl_s``, where it went (its recovery)
and the record it was read from, so a redelivery (the same record) can be told from a resend
(the same event id in a new record): a resend is only counted, a redelivery is reconciled.
One row per flushed batch (per ``SEEN_ROW_ENTRIES`` of it), keyed ``<cluster>~@<time>.<nonce>``
with a cluster of the batch.
``claims``: ``<cluster>~<strategy>|<target>`` -> the recovery that heals it, whether it is
still active, until when it keeps merging after it ended (the cooldown), the errors merged
into it, and per source topic the offset of the last record counted on it.

The tables are the truth: after a rebalance the state is rebuilt from them (one scan, which
indexes the seen rows' event ids and reads an entry when it is looked up), and
whatever a batch had not written is redelivered, because its records were not acked. A
redelivered record its claim already counted means a batch that was never committed, whose
merge note may be lost: that claim is noted to status again (``renote``). A rebuild alone
notes nothing: a committed batch's notes got out, since a commit waits for every send.
Expiry pops heaps ordered by expiry time (time buckets), never a scan of every row.

The two tables are two changelog topics, and a crash can keep one's writes and lose the
other's. The claim's offsets make that harmless: a partition's records are triaged in order,
so a record at or below the claim's offset for its topic is already counted, and a
redelivery whose claim lacks it is counted once more, exactly once.
"""

import gc
import heapq
import uuid
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, replace

from streams.config import DedupSettings
from streams.partitioning import SEPARATOR, partition_for, row_key
from streams.triage.ids import Source
from streams.triage.rows import SeenEntry, TargetClaim, decode_seen, encode_seen, seen_index

Rows = MutableMapping[str, bytes]

#: The ``<id>`` of seen-row keys starts with it; event ids and claim keys never do.
SEEN_ROW_MARK = "@"

#: At most this many entries per seen row (about 100 KB with UUID event ids): a batch of
#: ``triage.max_batch`` (up to 100,000) in one row would pass Kafka's 1 MiB record limit.
SEEN_ROW_ENTRIES = 2000


@dataclass(frozen=True, slots=True)
class SeenEvent:
    """An event id already triaged, until ``expires``, and where it went."""

    expires: float
    recovery_id: str
    source: Source

    def redelivered_as(self, source: Source) -> bool:
        """Whether ``source`` is the very record this event was first triaged from."""
        return self.source == source


@dataclass(frozen=True, slots=True)
class ClaimNote:
    """A claim whose merges status has not been told about yet, and the merged ids it has
    not been sent."""

    cluster: str
    claim: TargetClaim
    new_ids: tuple[str, ...]


def target_key(strategy: str, target: str) -> str:
    return f"{strategy}|{target}"


class PartitionDedup:
    """One partition's dedup state: reads hit memory, writes wait for :meth:`flush`."""

    def __init__(self, seen: Rows, claims: Rows, settings: DedupSettings, partition: int) -> None:
        self.seen_rows, self.claim_rows = seen, claims
        self.settings, self.partition = settings, partition
        self._index: dict[str, str] = {}  # cluster~event id -> its seen row ("": not yet)
        self._entries: dict[str, SeenEntry] = {}  # cluster~event id -> its entry, once read
        self._row_members: dict[str, list[str]] = {}  # seen row key -> its index keys
        self._pending: list[SeenEntry] = []  # remembered, not yet in a row
        self._claims: dict[str, TargetClaim | None] = {}  # claim rows read or written
        self._dirty: set[str] = set()  # claims changed since the last flush (their merges)
        self._unwritten: set[str] = set()  # of them, those whose row is not written yet
        self._noted: dict[str, tuple[int, int]] = {}  # claim key -> (count, ids) status has
        self._renote: set[str] = set()  # claims a redelivered record hit: tell status again
        self._row_expiry: list[tuple[float, str]] = []  # heap of (expires, seen row key)
        self._claim_expiry: list[tuple[float, str]] = []  # heap of (cooldown end, claim key)

    def adopt_seen_row(self, key: str, raw: bytes) -> None:
        """Index a stored seen row (when the state is rebuilt): its event ids only; an entry
        is read from its row when it is looked up (:meth:`_entry`)."""
        row = seen_index(raw)
        self._index.update(dict.fromkeys(row.keys, key))
        self._row_members[key] = row.keys
        heapq.heappush(self._row_expiry, (row.expires, key))

    def adopt_claim(self, key: str, raw: bytes) -> None:
        """Track a stored claim's cooldown for expiry (when the sweep reads the claims)."""
        claim = TargetClaim.decode(raw)
        if claim.cooldown_until is not None:
            heapq.heappush(self._claim_expiry, (claim.cooldown_until, key))

    def renote(self, key: str) -> None:
        """Tell status about this claim's merges again at the next flush."""
        self._renote.add(key)

    def for_cluster(self, cluster: str) -> "Dedup":
        return Dedup(self, cluster)

    # -- reads and writes, in memory ------------------------------------------------------

    def seen_before(self, cluster: str, event_id: str, now: float) -> SeenEvent | None:
        entry = self._entry(row_key(cluster, event_id))
        if entry is None or now >= entry.expires:
            return None
        return SeenEvent(entry.expires, entry.recovery_id, self._source(entry))

    def _entry(self, index_key: str) -> SeenEntry | None:
        """The entry of an event id, read from its stored row on first use after a rebuild
        (with the rest of that row: a redelivery brings its batch's neighbours too)."""
        entry = self._entries.get(index_key)
        row = self._index.get(index_key)
        raw = self.seen_rows.get(row) if entry is None and row else None
        if raw is not None:
            for found in decode_seen(raw):
                key = row_key(found.cluster, found.event_id)
                if self._index.get(key) == row:
                    self._entries.setdefault(key, found)
            entry = self._entries.get(index_key)
        return entry

    def remember(
        self, cluster: str, event_id: str, now: float, recovery_id: str, source: Source
    ) -> None:
        expires = now + self.settings.event_id_ttl_s
        entry = SeenEntry(cluster, event_id, recovery_id, source.topic, source.offset, expires)
        self._pending.append(entry)
        index_key = row_key(cluster, event_id)
        self._index[index_key] = ""  # its row is named at flush
        self._entries[index_key] = entry

    def claim_at(self, key: str) -> TargetClaim | None:
        """The claim row under ``key`` as stored (or as this batch left it)."""
        if key not in self._claims:
            raw = self.claim_rows.get(key)
            self._claims[key] = None if raw is None else TargetClaim.decode(raw)
        return self._claims[key]

    def set_claim(self, key: str, claim: TargetClaim) -> None:
        self._claims[key] = claim
        self._dirty.add(key)
        self._unwritten.add(key)
        if claim.cooldown_until is not None:
            heapq.heappush(self._claim_expiry, (claim.cooldown_until, key))

    # -- write-back -----------------------------------------------------------------------

    def write_claim(self, key: str) -> None:
        """One claim's row, now; the note of its merges waits for the next flush, which
        writes the row again only if it changed meanwhile (one record per recovery less)."""
        self._unwritten.discard(key)
        claim = self._claims.get(key)
        if claim is not None:
            self.claim_rows[key] = claim.encode()

    def flush(self, now: float) -> list[ClaimNote]:
        """Write what changed since the last flush, and expire what is due; the claims with
        merges status has not been told about. Called with an event of this partition
        current, so the writes land on its changelog partitions."""
        if self._pending:
            self._write_seen_rows(now)
        for key in list(self._unwritten):
            self.write_claim(key)
        notes = []
        for key in self._dirty | self._renote:
            claim = self.claim_at(key)
            count, ids = self._noted.get(key, (0, 0))
            if claim is not None and claim.merged_count > count:
                self._noted[key] = (claim.merged_count, len(claim.merged_ids))
                cluster = key.split(SEPARATOR, 1)[0]
                notes.append(ClaimNote(cluster, claim, claim.merged_ids[ids:]))
        self._dirty.clear()
        self._renote.clear()
        self._expire(now)
        return notes

    def _write_seen_rows(self, now: float) -> None:
        pending, self._pending = self._pending, []
        for start in range(0, len(pending), SEEN_ROW_ENTRIES):
            self._write_seen_row(pending[start : start + SEEN_ROW_ENTRIES], now)

    def _write_seen_row(self, entries: list[SeenEntry], now: float) -> None:
        nonce = uuid.uuid4().hex[:12]
        key = row_key(entries[0].cluster, f"{SEEN_ROW_MARK}{now:.3f}.{nonce}")
        self.seen_rows[key] = encode_seen(entries)
        members = []
        for entry in entries:
            index_key = row_key(entry.cluster, entry.event_id)
            if self._entries.get(index_key) is entry:
                self._index[index_key] = key
            members.append(index_key)
        self._row_members[key] = members
        heapq.heappush(self._row_expiry, (max(e.expires for e in entries), key))

    def _expire(self, now: float) -> None:
        while self._row_expiry and self._row_expiry[0][0] <= now:
            _, key = heapq.heappop(self._row_expiry)
            self.seen_rows.pop(key, None)
            for index_key in self._row_members.pop(key, ()):
                if self._index.get(index_key) == key:
                    del self._index[index_key]
                    self._entries.pop(index_key, None)
        while self._claim_expiry and self._claim_expiry[0][0] <= now:
            _, key = heapq.heappop(self._claim_expiry)
            claim = self.claim_at(key)
            if claim is not None and not claim.merges_at(now):
                self.claim_rows.pop(key, None)
                self._claims.pop(key, None)
                self._noted.pop(key, None)

    def _source(self, entry: SeenEntry) -> Source:
        return Source(entry.topic, self.partition, entry.offset)


class Dedup:
    """The dedup state one error touches: its cluster's rows on its partition."""

    def __init__(self, state: PartitionDedup, cluster: str) -> None:
        self.state = state
        self.cluster = cluster

    def claim_key(self, strategy: str, target: str) -> str:
        return row_key(self.cluster, target_key(strategy, target))

    def seen_before(self, event_id: str | None, now: float) -> SeenEvent | None:
        """The earlier triage of this event id, within its TTL."""
        return None if event_id is None else self.state.seen_before(self.cluster, event_id, now)

    def remember(self, event_id: str | None, now: float, recovery_id: str, source: Source) -> None:
        if event_id is not None:
            self.state.remember(self.cluster, event_id, now, recovery_id, source)

    def claim_of(self, strategy: str, target: str, now: float) -> TargetClaim | None:
        """The recovery new errors for this (strategy, target) merge into, if any."""
        claim = self.current_claim(strategy, target)
        return claim if claim is not None and claim.merges_at(now) else None

    def current_claim(self, strategy: str, target: str) -> TargetClaim | None:
        """The claim as stored (or as this batch left it), expired or not."""
        return self.state.claim_at(self.claim_key(strategy, target))

    def claim(self, strategy: str, target: str, recovery_id: str, source: Source) -> None:
        claim = TargetClaim(recovery_id, offsets={source.topic: source.offset})
        self.state.set_claim(self.claim_key(strategy, target), claim)

    def suppress(
        self,
        strategy: str,
        target: str,
        recovery_id: str,
        source: Source,
        silence: str,
        until: float,
    ) -> None:
        """A recovery a silence suppressed, ended at once: later errors merge into it until
        ``until`` (the silence's expiry), or until the silence ends early (see decide.py)."""
        claim = TargetClaim(
            recovery_id, False, until, offsets={source.topic: source.offset}, silence=silence
        )
        self.state.set_claim(self.claim_key(strategy, target), claim)

    def record_merge(
        self, strategy: str, target: str, error_id: str, source: Source
    ) -> TargetClaim:
        """Count ``error_id``, read at ``source``, on the claim that absorbed it (it must
        exist); a record the claim has already counted is not counted again."""
        claim = self.current_claim(strategy, target)
        assert claim is not None, "merge into a missing claim"
        if claim.applied(source.topic, source.offset):
            return claim
        merged = claim.with_merge(error_id, source.topic, source.offset)
        self.state.set_claim(self.claim_key(strategy, target), merged)
        return merged

    def renote(self, strategy: str, target: str) -> None:
        """A record this claim already counted came again: its batch was never committed,
        so the merge note that batch sent may not have got out; the next flush sends it
        again (status folds notes as a union and a maximum, so twice is harmless)."""
        self.state.renote(self.claim_key(strategy, target))

    def release(self, strategy: str, target: str, recovery_id: str, now: float) -> bool:
        """The recovery ended: keep merging into it for the cooldown, then let go. False:
        the claim is not that recovery's, or was let go already."""
        claim = self.current_claim(strategy, target)
        if claim is None or claim.recovery_id != recovery_id or not claim.active:
            return False
        until = now + self.settings.cooldown_s
        ended = replace(claim, active=False, cooldown_until=until)
        self.state.set_claim(self.claim_key(strategy, target), ended)
        return True

    def write_claim(self, strategy: str, target: str) -> None:
        """Write this claim now, ahead of its partition's next flush (which writes it again
        if a merge changed it meanwhile, and tells status about its merges)."""
        self.state.write_claim(self.claim_key(strategy, target))

    @property
    def settings(self) -> DedupSettings:
        return self.state.settings


class DedupState:
    """Every partition's dedup state on this worker, rebuilt from the seen table (one scan)
    on first use after each rebalance, the claims' cooldowns read by the next sweep
    (:meth:`read_claims`); ``epoch`` tells a batch begun before it."""

    def __init__(
        self,
        seen: Rows,
        claims: Rows,
        settings: DedupSettings,
        partitions: int,
    ) -> None:
        self.seen, self.claims = seen, claims
        self.settings, self.partitions = settings, partitions
        self.epoch = 0
        self._parts: dict[int, PartitionDedup] | None = None
        self._claims_read = False

    def reset(self) -> None:
        """Forget everything in memory (partitions were revoked): the tables are the truth."""
        self._parts = None
        self.epoch += 1

    def partition(self, partition: int) -> PartitionDedup:
        if self._parts is None:
            self._parts, self._claims_read = self._load(), False
        part = self._parts.get(partition)
        if part is None:
            part = self._parts[partition] = self._new(partition)
        return part

    def read_claims(self) -> None:
        """Put every stored claim's cooldown on its partition's expiry heap, once per rebuild.
        Left out of the rebuild, which the first batch after a restart waits for (reading
        100,000 claims took about 1.5 s of it), and called by the sweep: the heap only
        expires claims, and a claim whose cooldown is over merges nothing, removed or not."""
        if self._parts is None or self._claims_read:
            return
        self._claims_read = True
        with _frozen_once_built():
            for key, raw in list(self.claims.items()):
                self.partition(partition_for(key.encode(), self.partitions)).adopt_claim(key, raw)

    def _new(self, partition: int) -> PartitionDedup:
        return PartitionDedup(self.seen, self.claims, self.settings, partition)

    def _load(self) -> dict[int, PartitionDedup]:
        parts: dict[int, PartitionDedup] = {}
        with _frozen_once_built():
            for key, raw in list(self.seen.items()):
                number = partition_for(key.encode(), self.partitions)
                if number not in parts:
                    parts[number] = self._new(number)
                parts[number].adopt_seen_row(key, raw)
        return parts


@contextmanager
def _frozen_once_built() -> Iterator[None]:
    """A rebuild allocates a million small objects and no cycles, yet each burst of
    allocations runs the cyclic collector over everything loaded so far: about half of the
    rebuild's CPU at 200,000 entries. Nothing it builds needs collecting, and it lives until
    the next rebalance: frozen (``gc.freeze``), it stays out of every later full collection,
    such as the one Faust's RocksDB store runs per table at each rebalance and at stop, and
    the ones the interpreter's own thresholds set off while a restarted worker settles.

    A freeze takes in everything the collector tracks, garbage too, and frozen garbage is
    never freed. So the garbage goes first (one collection, before the build). Faust's revoke
    waits until every message it delivered is acked or freed, so a message in frozen garbage
    (say, in the frames a cancelled task's exception keeps) would hold up every later revoke.
    (Suspected in a churn-test revoke that waited for good, which had another cause:
    streams/flow_control.py.)"""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
