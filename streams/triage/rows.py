"""The dedup tables' value formats: compact, versioned bytes rather than JSON objects.

A *seen row* holds every event id one flush of a partition remembered (a batch: hundreds of
errors in a storm, one when it is quiet), so an error costs a few dozen bytes on the changelog
instead of a record of its own. Strings that repeat within a batch (clusters, recovery ids,
topics) are stored once. A *claim row* is one (strategy, target)'s claim.

Both start with a format byte; a reader refuses a format it does not know (the tables' topic
names carry the version too, so a new format gets new topics).
"""

import json
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from schemas.errors import TmcRecoveryError
from streams.partitioning import row_key

SEEN_FORMAT = 2
CLAIM_FORMAT = 1
#: A claim a silence suppressed: format 1 plus the silence's id. Its own format, so a worker
#: that predates silences refuses the row (DedupRowError) rather than misreading it.
SILENCED_CLAIM_FORMAT = 2

#: Merged error ids kept per recovery; the count keeps going past it.
MAX_MERGED_IDS = 200

_COUNT = struct.Struct("<I")
_LENGTH = struct.Struct("<H")
_EXPIRES = struct.Struct("<d")
_GROUP = struct.Struct("<HII")  # cluster (string index), entries, bytes of its event ids
_ENTRY = struct.Struct("<HHqd")  # recovery id, topic (string indexes), offset, expires
_ID_END = "\0"  # between a group's event ids: never in a UUID (streams/ingest/admission.py)


class DedupRowError(TmcRecoveryError):
    """A dedup row in a format this worker cannot read (a newer worker wrote it)."""


class SeenEntry(NamedTuple):
    """An event id triaged from the record at (topic, the row's partition, offset), kept
    until ``expires`` (epoch seconds), and the recovery it went to. A named tuple: a restart
    builds one per remembered event id (a million of them), and a tuple builds fastest."""

    cluster: str
    event_id: str
    recovery_id: str
    topic: str
    offset: int
    expires: float


def encode_seen(entries: Iterable[SeenEntry]) -> bytes:
    """A seen row: the latest expiry, a table of the strings that repeat, then per cluster its
    event ids as one NUL-joined block (so a rebuild indexes them without a loop of its own:
    :func:`seen_index`), then each entry's fixed part in the same order."""
    strings: dict[str, int] = {}

    def index(value: str) -> int:
        return strings.setdefault(value, len(strings))

    by_cluster: dict[str, list[SeenEntry]] = {}
    for e in entries:
        if _ID_END in e.event_id:
            raise ValueError(f"event id {e.event_id[:64]!r} holds a NUL (ingest admits UUIDs)")
        by_cluster.setdefault(e.cluster, []).append(e)
    groups, fixed = bytearray(), bytearray()
    expires = 0.0
    for cluster, group in by_cluster.items():
        ids = _ID_END.join(e.event_id for e in group).encode()
        groups += _GROUP.pack(index(cluster), len(group), len(ids)) + ids
        for e in group:
            fixed += _ENTRY.pack(index(e.recovery_id), index(e.topic), e.offset, e.expires)
            expires = max(expires, e.expires)
    table = b"".join(_string(s) for s in strings)
    head = bytes([SEEN_FORMAT]) + _EXPIRES.pack(expires) + _COUNT.pack(len(strings)) + table
    return head + _COUNT.pack(len(by_cluster)) + groups + fixed


@dataclass(frozen=True, slots=True)
class SeenIndex:
    """What a rebuild keeps of a seen row: its latest expiry and its event ids, as
    ``<cluster>~<event id>`` keys; the entries themselves are read when one is looked up."""

    expires: float
    keys: list[str]


def seen_index(raw: bytes) -> SeenIndex:
    """The row's keys without decoding its entries: a restart reads every row the table
    holds (a million event ids), and most are never looked up before they expire."""
    expires, _, groups, _ = _read_seen(raw)
    keys = [row_key(cluster, event_id) for cluster, ids in groups for event_id in ids]
    return SeenIndex(expires, keys)


def decode_seen(raw: bytes) -> Iterator[SeenEntry]:
    """Every entry of a seen row, its clusters' entries together."""
    _, strings, groups, fixed_at = _read_seen(raw)
    entries = _ENTRY.iter_unpack(raw[fixed_at:])
    for cluster, ids in groups:
        for event_id, (recovery, topic, offset, expires) in zip(ids, entries, strict=False):
            yield SeenEntry(cluster, event_id, strings[recovery], strings[topic], offset, expires)


def _read_seen(raw: bytes) -> tuple[float, list[str], list[tuple[str, list[str]]], int]:
    """A seen row's latest expiry, string table, cluster groups, and where the entries'
    fixed parts start."""
    reader = _Reader(raw, SEEN_FORMAT, "seen")
    (expires,) = reader.fixed(_EXPIRES)
    strings = [reader.string() for _ in range(reader.count())]
    groups = [reader.group(strings) for _ in range(reader.count())]
    return expires, strings, groups, reader.at


@dataclass(frozen=True, slots=True)
class TargetClaim:
    """Who heals a (strategy, target) right now, or recently, and what merged into it."""

    recovery_id: str
    active: bool = True
    cooldown_until: float | None = None
    merged_ids: tuple[str, ...] = ()
    merged_count: int = 0
    offsets: dict[str, int] = field(default_factory=dict)  # topic -> last record applied
    #: The silence that suppressed it (streams/silences/): it merges only while that lasts.
    silence: str | None = None
    #: ``merged_ids`` as JSON, grown by each merge: a storm writes a claim once per batch,
    #: and encoding its 100-200 ids again each time cost more than the rest of the row.
    ids_json: str | None = field(default=None, compare=False, repr=False)

    def merges_at(self, now: float) -> bool:
        return self.active or (self.cooldown_until is not None and now < self.cooldown_until)

    def applied(self, topic: str, offset: int) -> bool:
        """Whether the record at (topic, offset) has already been counted on this claim."""
        return offset <= self.offsets.get(topic, -1)

    def with_merge(self, error_id: str, topic: str, offset: int) -> "TargetClaim":
        # Spelled out rather than dataclasses.replace: once per merged error, a storm's hot path.
        ids, ids_json = self.merged_ids, self.ids_json
        if len(ids) < MAX_MERGED_IDS:
            ids_json, quoted = self._ids_json(), _compact(error_id)
            # The JSON is one block of memory: searching it beats comparing the id with each
            # id object in turn (the costliest line of a storm's triage). A hit may be false
            # (the id inside another id's text), so only a hit compares ids.
            if not (quoted in ids_json and error_id in ids):
                ids, ids_json = (*ids, error_id), f"{ids_json[:-1]}{',' if ids else ''}{quoted}]"
        offsets = {**self.offsets, topic: offset}
        count = self.merged_count + 1
        return TargetClaim(
            self.recovery_id, self.active, self.cooldown_until, ids, count, offsets,
            self.silence, ids_json,
        )  # fmt: skip

    def encode(self) -> bytes:
        head: list[object] = [CLAIM_FORMAT, self.recovery_id, self.active, self.cooldown_until]
        tail: list[object] = [self.merged_count, self.offsets]
        if self.silence is not None:  # otherwise unsuppressed rows stay exactly as they were
            head[0] = SILENCED_CLAIM_FORMAT
            tail.append(self.silence)
        return f"{_compact(head)[:-1]},{self._ids_json()},{_compact(tail)[1:]}".encode()

    def _ids_json(self) -> str:
        return _compact(list(self.merged_ids)) if self.ids_json is None else self.ids_json

    @classmethod
    def decode(cls, raw: bytes) -> "TargetClaim":
        fields = json.loads(raw)
        known = (CLAIM_FORMAT, SILENCED_CLAIM_FORMAT)
        if not isinstance(fields, list) or not fields or fields[0] not in known:
            raise DedupRowError(f"claim row of unknown format {str(fields)[:40]!r}")
        _, recovery_id, active, cooldown_until, ids, count, offsets, *silence = fields
        return cls(recovery_id, active, cooldown_until, tuple(ids), count, offsets, *silence)


#: JSON without spaces; one encoder, not one built per call as ``json.dumps`` builds it.
_compact = json.JSONEncoder(separators=(",", ":")).encode


def _string(value: str) -> bytes:
    raw = value.encode()
    return _LENGTH.pack(len(raw)) + raw


class _Reader:
    def __init__(self, raw: bytes, expected_format: int, kind: str) -> None:
        if not raw or raw[0] != expected_format:
            found = raw[0] if raw else None
            raise DedupRowError(f"{kind} row of format {found}; this reads {expected_format}")
        self.raw, self.at = raw, 1

    def count(self) -> int:
        count: int = self.fixed(_COUNT)[0]
        return count

    def string(self) -> str:
        (length,) = self.fixed(_LENGTH)
        start, self.at = self.at, self.at + length
        return self.raw[start : self.at].decode()

    def group(self, strings: list[str]) -> tuple[str, list[str]]:
        """A seen row's cluster group: the cluster and its event ids."""
        cluster, count, length = self.fixed(_GROUP)
        start, self.at = self.at, self.at + length
        ids = self.raw[start : self.at].decode().split(_ID_END)
        if len(ids) != count:
            raise DedupRowError(f"seen row group of {count} entries holds {len(ids)} ids")
        return strings[cluster], ids

    def fixed(self, shape: struct.Struct) -> tuple[Any, ...]:
        values = shape.unpack_from(self.raw, self.at)
        self.at += shape.size
        return tuple(values)
