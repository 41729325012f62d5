"""The status-internal merges topic: merged errors from triage, and status's expiry ticks.

Triage owns the dedup claims and counts the errors merged into each recovery; status owns the
rows. So triage sends what a claim has merged, per partition tick, on the status-internal
merges topic (never the public results topic, whose last record for a recovery is final), and
status folds it into the row. A note carries the claim's totals, not a delta, so a note sent
twice, late or out of order changes nothing it should not.

Status also sends itself a tick per owned partition on this topic, so that expiring rows
happens inside stream iteration of the rows' partition (NOTES.md: table writes take their
partition from the current event).
"""

import json
from dataclasses import dataclass

#: Bumped when the value format changes; a reader skips versions it does not know.
FORMAT = 1

#: Marks an expiry tick. Its value has no version, so a reader that predates ticks skips it.
TICK_HEADER = "tmc.status.tick"
TICK = b'{"tick":"expire"}'


@dataclass(frozen=True, slots=True)
class MergeNote:
    cluster: str
    recovery_id: str
    merged_ids: tuple[str, ...]
    merged_count: int

    def encode(self) -> bytes:
        raw = {"v": FORMAT, "cluster": self.cluster, "id": self.recovery_id}
        raw |= {"ids": self.merged_ids, "n": self.merged_count}
        return json.dumps(raw, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, value: bytes) -> "MergeNote | None":
        """The note, or None for a format this version does not read."""
        raw = json.loads(value)
        if raw.get("v") != FORMAT:
            return None
        return cls(raw["cluster"], raw["id"], tuple(raw["ids"]), int(raw["n"]))
