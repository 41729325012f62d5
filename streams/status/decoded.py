"""The rows status last read or wrote, kept decoded, by key.

A storm merges into the same rows again and again, and every batch that touches a row reads
it back from the table. Decoding a status row costs more than the merge itself (an Avro row
with its transitions and merged ids), and the results codec's memo does not keep up: it is
keyed by bytes, shared with every results record the worker reads, and each write adds a new
entry, so with 2,000 busy rows it dropped a row's bytes before the row came round again. In a
py-spy profile of the 200,000-error storm over 2,000 targets, those decodes were 3.5% of the
worker's CPU.

Kept by key, one version each, with the bytes it came from: a stored row whose bytes differ
(a table recovery after a rebalance brought another version) is decoded again, so a row read
through this is never stale.
"""

from collections import OrderedDict

from schemas.records import RecoveryResult


class DecodedRows:
    """The ``size`` most recently used rows, decoded."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._rows: OrderedDict[str, tuple[bytes, RecoveryResult]] = OrderedDict()

    def get(self, key: str, raw: bytes) -> RecoveryResult | None:
        """The row decoded from ``raw``, if ``raw`` is what was kept under ``key``."""
        kept = self._rows.get(key)
        if kept is None or kept[0] != raw:
            return None
        self._rows.move_to_end(key)
        return kept[1]

    def last(self, key: str) -> tuple[bytes, RecoveryResult] | None:
        """The bytes and row last kept under ``key``, whatever the table holds now."""
        return self._rows.get(key)

    def put(self, key: str, raw: bytes, row: RecoveryResult) -> None:
        self._rows[key] = (raw, row)
        self._rows.move_to_end(key)
        if len(self._rows) > self.size:
            self._rows.popitem(last=False)

    def drop(self, key: str) -> None:
        self._rows.pop(key, None)
