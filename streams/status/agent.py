"""Results -> the status table (the only writer of recovery rows), summaries and escalations.

Runs inside stream iteration of the cluster-keyed results topic, so every table write lands
on the cluster's changelog partition. Records may repeat or arrive late; the projection is
idempotent and never moves a row backwards. Merged errors arrive on the status-internal
merges topic (co-partitioned), and a row being projected also picks up what its triage claim
has merged so far, so neither order of arrival loses a merge.
"""

import logging
from collections.abc import AsyncIterator

from faust.types import StreamT

from schemas.codec import DecodeError
from schemas.records import RecoveryResult, RecoveryState
from streams.context import Pipeline, now_ms
from streams.ingest.admission import Rejected, dead_letter_headers
from streams.partitioning import row_key
from streams.status.merges import MergeNote
from streams.status.projection import project_cluster, project_row, summary_key, with_merges

log = logging.getLogger(__name__)


class ResultsAgent:
    def __init__(self, pipeline: Pipeline) -> None:
        self.p = pipeline

    def register(self) -> None:
        self.p.app.agent(self.p.channels.results, name="tmc-results")(self._project)
        self.p.app.agent(self.p.channels.merges, name="tmc-merges")(self._merge)

    async def _merge(self, stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            note = MergeNote.decode(event.message.value)
            row = None if note is None else self.p.row(note.cluster, note.recovery_id)
            if note is not None and row is not None:
                merged = with_merges(row, note.merged_ids, note.merged_count)
                if merged != row:
                    key = row_key(note.cluster, row.id)
                    self.p.tables.status[key] = self.p.results.encode(merged)
            yield None

    async def _project(self, stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            msg = event.message
            try:
                incoming = self.p.results.decode(msg.value)
            except DecodeError as exc:
                source = f"{msg.topic}:{msg.partition}:{msg.offset}"
                log.error("undecodable record on the results topic at %s: %s", source, exc)
                headers = dead_letter_headers([], Rejected(exc.reason, str(exc)), source)
                await self.p.channels.dlq.send(key=msg.key, value=msg.value, headers=headers)
            else:
                await self.apply(incoming, msg.partition)
            self.p.catchup.projected(msg.partition, msg.offset)
            yield None

    async def apply(self, incoming: RecoveryResult, partition: int) -> None:
        before = self.p.row_of(incoming)
        row = project_row(before, incoming)
        cluster = summary_key(row)
        claim = self.p.dedup(partition, cluster).current_claim(row.strategy, row.target)
        if claim is not None and claim.recovery_id == row.id:
            row = with_merges(row, claim.merged_ids, claim.merged_count)
        if row == before:
            return
        self.p.tables.status[row_key(cluster, row.id)] = self.p.results.encode(row)
        self._summarize(before, row)
        self._count_attempts(before, row)
        if row.state.is_terminal and (before is None or not before.state.is_terminal):
            self._count_ending(row)
            if row.state is RecoveryState.ESCALATED:
                await self.p.channels.escalations.send(
                    key=row.kafka_key(), value=self.p.results.encode(row)
                )

    def _summarize(self, before: RecoveryResult | None, row: RecoveryResult) -> None:
        key = summary_key(row)
        updated = project_cluster(self.p.summary(key), before, row, now_ms(self.p.clock))
        self.p.tables.clusters[key] = self.p.summaries.encode(updated)

    def _count_attempts(self, before: RecoveryResult | None, row: RecoveryResult) -> None:
        new = row.transitions[0 if before is None else len(before.transitions) :]
        started = sum(t.state is RecoveryState.IN_PROGRESS for t in new)
        if started:
            self.p.metrics.attempts.labels(row.error.type.value, row.strategy).inc(started)

    def _count_ending(self, row: RecoveryResult) -> None:
        labels = (row.error.type.value, row.strategy)
        metrics = self.p.metrics
        if row.state is RecoveryState.COMPLETED:
            metrics.successes.labels(*labels).inc()
        else:
            metrics.failures.labels(*labels).inc()
        if row.state is RecoveryState.ESCALATED:
            metrics.escalated.labels(row.strategy).inc()
        if row.end_time is not None:
            seconds = (row.end_time - row.start_time).total_seconds()
            metrics.duration.labels(*labels).observe(max(seconds, 0.0))
