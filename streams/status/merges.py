"""The status-internal merges topic: merged errors from triage, and status's expiry ticks.

Triage owns the dedup claims and counts the errors merged into each recovery; status owns the
rows. So triage sends what its claims merged, one record per partition per triage batch (split
when it would grow past ``MAX_RECORD_BYTES``), on the
status-internal merges topic (never the public results topic, whose last record for a
recovery is final), and status folds it into the rows. Each note carries its claim's total
count and the merged ids not sent before; folding is a union and a maximum, so a note sent
twice, late or out of order changes nothing it should not. Ids a lost note carried reach the
row when the recovery's next result is projected, which folds in the claim's ids.

Status also sends itself a tick per owned partition on this topic, so that expiring rows
happens inside stream iteration of the rows' partition (NOTES.md: table writes take their
partition from the current event).
"""

import json
from dataclasses import dataclass

#: Bumped when the value format changes; a reader skips versions it does not know.
FORMAT = 2

#: Marks an expiry tick. Its value has no version, so a reader that predates ticks skips it.
TICK_HEADER = "tmc.status.tick"
TICK = b'{"tick":"expire"}'


@dataclass(frozen=True, slots=True)
class MergeNote:
    cluster: str
    recovery_id: str
    merged_ids: tuple[str, ...]  # those not sent before
    merged_count: int  # the claim's total


#: A merges record stays well under Kafka's default 1 MiB request limit, however many claims
#: a batch notes: when a rebuilt triage told status again about every claim with merges,
#: 100,000 claims made one 7.6 MB record, the producer refused it, and the worker stopped.
MAX_RECORD_BYTES = 256 * 1024

_HEAD, _TAIL = b'{"v":%d,"notes":[' % FORMAT, b"]}"


def encode_notes(notes: list[MergeNote], max_bytes: int = MAX_RECORD_BYTES) -> list[bytes]:
    """The notes as records of at most ``max_bytes`` each (a note larger than that alone)."""
    batches: list[list[bytes]] = [[]]
    size = len(_HEAD) + len(_TAIL)
    for n in notes:
        row = [n.cluster, n.recovery_id, n.merged_ids, n.merged_count]
        part = json.dumps(row, separators=(",", ":")).encode()
        if batches[-1] and size + 1 + len(part) > max_bytes:
            batches.append([])
            size = len(_HEAD) + len(_TAIL)
        batches[-1].append(part)
        size += 1 + len(part)
    return [_HEAD + b",".join(parts) + _TAIL for parts in batches if parts]


def decode_notes(value: bytes) -> list[MergeNote]:
    """The notes of one record; none for a format this version does not read."""
    raw = json.loads(value)
    if raw.get("v") != FORMAT:
        return []
    return [MergeNote(c, r, tuple(ids), int(n)) for c, r, ids, n in raw["notes"]]
