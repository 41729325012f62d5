"""One batch of the status projection: rows and summaries as the batch left them.

Every results record changes its recovery's row and its cluster's summary, and a new recovery
brings three records (Pending, InProgress, an ending) within milliseconds; a storm of merges
touches the same rows again and again. Writing each key once per batch, not once per record,
is what the issue's hot path asks ("cluster summaries projected once per batch"). So the
status agents read without acking, apply each record to this overlay at once (reads see the
overlay first, then the table), and a batch closes ``status.batch_linger_s`` after its first
event, or when full: it writes each partition's keys once, with one of that partition's
events current, sends the escalations, acks the events, and only then reports the results
offsets as projected (catch-up, streams/status/catchup.py, waits for the table, not the
overlay). A batch begun before a rebalance is dropped unacked: the projection is idempotent,
so whoever owns the partitions reads those records again.
"""

from dataclasses import dataclass, field

from schemas.records import ClusterStatus, RecoveryResult
from streams.batching import EventBatch


@dataclass
class ProjectionBatch(EventBatch):
    """Begun in catch-up generation ``epoch``; ``rows`` maps a key to its row, None for a
    tombstone."""

    rows: dict[int, dict[str, RecoveryResult | None]] = field(default_factory=dict)
    summaries: dict[int, dict[str, ClusterStatus]] = field(default_factory=dict)
    escalations: list[RecoveryResult] = field(default_factory=list)
    projected: dict[int, int] = field(default_factory=dict)  # results partition -> offset

    def row(self, partition: int, key: str) -> tuple[bool, RecoveryResult | None]:
        """(whether the batch holds ``key``, its row or None for a tombstone)."""
        rows = self.rows.get(partition, {})
        return key in rows, rows.get(key)
