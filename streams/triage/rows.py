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

SEEN_FORMAT = 1
CLAIM_FORMAT = 1
#: A claim a silence suppressed: format 1 plus the silence's id. Its own format, so a worker
#: that predates silences refuses the row (DedupRowError) rather than misreading it.
SILENCED_CLAIM_FORMAT = 2

#: Merged error ids kept per recovery; the count keeps going past it.
MAX_MERGED_IDS = 200

_COUNT = struct.Struct("<I")
_LENGTH = struct.Struct("<H")
_ENTRY = struct.Struct("<HHHqd")  # cluster, recovery id, topic (string indexes), offset, expires


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
    strings: dict[str, int] = {}

    def index(value: str) -> int:
        return strings.setdefault(value, len(strings))

    body = bytearray()
    count = 0
    for e in entries:
        strings_of = index(e.cluster), index(e.recovery_id), index(e.topic)
        body += _string(e.event_id) + _ENTRY.pack(*strings_of, e.offset, e.expires)
        count += 1
    table = b"".join(_string(s) for s in strings)
    return bytes([SEEN_FORMAT]) + _COUNT.pack(len(strings)) + table + _COUNT.pack(count) + body


def decode_seen(raw: bytes) -> Iterator[SeenEntry]:
    reader = _Reader(raw, SEEN_FORMAT, "seen")
    strings = [reader.string() for _ in range(reader.count())]
    count, at = reader.count(), reader.at
    # Spelled out, not through _Reader: a restart decodes every entry the tables hold.
    length_at, entry_at = _LENGTH.unpack_from, _ENTRY.unpack_from
    for _ in range(count):
        (length,) = length_at(raw, at)
        start = at + _LENGTH.size
        at = start + length
        event_id = raw[start:at].decode()
        cluster, recovery, topic, offset, expires = entry_at(raw, at)
        at += _ENTRY.size
        yield SeenEntry(
            strings[cluster], event_id, strings[recovery], strings[topic], offset, expires
        )


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

    def merges_at(self, now: float) -> bool:
        return self.active or (self.cooldown_until is not None and now < self.cooldown_until)

    def applied(self, topic: str, offset: int) -> bool:
        """Whether the record at (topic, offset) has already been counted on this claim."""
        return offset <= self.offsets.get(topic, -1)

    def with_merge(self, error_id: str, topic: str, offset: int) -> "TargetClaim":
        # Spelled out rather than dataclasses.replace: once per merged error, a storm's hot path.
        ids = self.merged_ids
        if len(ids) < MAX_MERGED_IDS and error_id not in ids:
            ids = (*ids, error_id)
        offsets = {**self.offsets, topic: offset}
        count = self.merged_count + 1
        return TargetClaim(
            self.recovery_id, self.active, self.cooldown_until, ids, count, offsets, self.silence
        )

    def encode(self) -> bytes:
        fields = [CLAIM_FORMAT, self.recovery_id, self.active, self.cooldown_until]
        fields += [list(self.merged_ids), self.merged_count, self.offsets]
        if self.silence is not None:  # otherwise unsuppressed rows stay exactly as they were
            fields[0] = SILENCED_CLAIM_FORMAT
            fields.append(self.silence)
        return json.dumps(fields, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> "TargetClaim":
        fields = json.loads(raw)
        known = (CLAIM_FORMAT, SILENCED_CLAIM_FORMAT)
        if not isinstance(fields, list) or not fields or fields[0] not in known:
            raise DedupRowError(f"claim row of unknown format {str(fields)[:40]!r}")
        _, recovery_id, active, cooldown_until, ids, count, offsets, *silence = fields
        return cls(recovery_id, active, cooldown_until, tuple(ids), count, offsets, *silence)


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

    def fixed(self, shape: struct.Struct) -> tuple[Any, ...]:
        values = shape.unpack_from(self.raw, self.at)
        self.at += shape.size
        return tuple(values)
