"""The status and cluster tables as every other stage reads them.

Status's agents are the tables' one writer (the design's State contract). Everything else
(execution resuming a row, triage checking a re-issue, the API, the resume after a rebalance)
holds this view, whose tables are read-only mapping proxies: a write through it raises
TypeError, and tests/streams/test_single_writer.py checks that no code outside
``streams/status/`` reaches the tables themselves.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from schemas.codec import RecordCodec
from schemas.records import ClusterStatus, RecoveryResult
from streams.partitioning import SEPARATOR, row_key


@dataclass(frozen=True)
class StatusReads:
    rows: Mapping[str, bytes]  # cluster~recovery id -> RecoveryResult (Avro)
    summaries: Mapping[str, bytes]  # cluster -> ClusterStatus (Avro)
    results: RecordCodec[RecoveryResult]
    summary_codec: RecordCodec[ClusterStatus]

    @classmethod
    def over(
        cls,
        rows: Mapping[str, bytes],
        summaries: Mapping[str, bytes],
        results: RecordCodec[RecoveryResult],
        summary_codec: RecordCodec[ClusterStatus],
    ) -> "StatusReads":
        """Reads of the two tables, through proxies that refuse writes."""
        return cls(MappingProxyType(rows), MappingProxyType(summaries), results, summary_codec)

    def row(self, cluster: str, recovery_id: str) -> RecoveryResult | None:
        raw = self.rows.get(row_key(cluster, recovery_id))
        return None if raw is None else self.results.decode(raw)

    def row_of(self, recovery: RecoveryResult) -> RecoveryResult | None:
        """The table's row of ``recovery`` (None: not projected yet)."""
        return self.row(recovery.kafka_key().decode(), recovery.id)

    def summary(self, cluster: str) -> ClusterStatus | None:
        raw = self.summaries.get(cluster)
        return None if raw is None else self.summary_codec.decode(raw)

    def clusters(self) -> list[str]:
        """Every cluster with a summary held here (standby copies too)."""
        return list(self.summaries)

    def summaries_where(self, wanted: Callable[[str], bool]) -> Iterator[ClusterStatus]:
        """The summaries of the clusters ``wanted`` picks, decoded only when picked."""
        for cluster, raw in list(self.summaries.items()):
            if wanted(cluster):
                yield self.summary_codec.decode(raw)

    def rows_where(self, wanted: Callable[[str, str], bool]) -> Iterator[RecoveryResult]:
        """The rows whose (cluster, recovery id) ``wanted`` picks, decoded only when picked."""
        for key, raw in list(self.rows.items()):
            cluster, _, recovery_id = key.partition(SEPARATOR)
            if wanted(cluster, recovery_id):
                yield self.results.decode(raw)
