"""Results -> the status table (the only writer of recovery rows), summaries and escalations.

Projected in batches (streams/status/batch.py): each record is applied at once to the open
batch, and closing it writes each row and summary once, on its cluster's changelog partition.
Records may repeat or arrive late; the projection is idempotent and never moves a row
backwards. Merged errors arrive on the status-internal
merges topic (co-partitioned), and a row being projected also picks up what its triage claim
has merged so far, so neither order of arrival loses a merge.

Terminal rows expire (streams/status/expiry.py): a timer sends a tick to each owned partition
of the merges topic, and the merges agent tombstones that partition's due rows. Their counts
stay in the cluster summary, whose last outcome per strategy may name an expired recovery.
A record that would bring an expired row back is not projected (``Retention.is_late``).
"""

import asyncio
import dataclasses
import logging
import time
from typing import cast

import faust
from faust.types import EventT, StreamT
from prometheus_client import Counter

from schemas.codec import DecodeError
from schemas.records import ClusterStatus, RecoveryResult, RecoveryState
from streams.batching import close_lingering, current, reading_a_backlog
from streams.context import Shared, header_pairs, now_ms
from streams.ingest.admission import Rejected, dead_letter_headers
from streams.partitioning import partition_for, row_key
from streams.status.batch import ProjectionBatch
from streams.status.decoded import DecodedRows
from streams.status.expiry import ExpiryIndex, Retention
from streams.status.merges import TICK, TICK_HEADER, MergeNote, decode_notes
from streams.status.projection import cluster_of, project_row, project_summary, with_merges
from streams.status.splice import MergeSplicer

log = logging.getLogger(__name__)

#: What the expiry index needs of a stored row: whether it is terminal, and when it ended.
EXPIRY_FIELDS = ("state", "start_time", "end_time")
#: The index rebuild reads this many rows (about 5 ms), then pauses this long: expiry is
#: not urgent, and the rebuild takes at most about a fifth of the loop from the agents.
INDEX_SLICE = 100
INDEX_PAUSE_S = 0.02
#: Rows kept decoded between batches: more than a storm's busy rows (2,000 in the benchmark).
DECODED_ROWS = 4096


class ResultsAgent:
    def __init__(self, pipeline: Shared) -> None:
        self.p = pipeline
        status = pipeline.settings.status
        self.retention = Retention(status.retention_s)
        self.expiry = ExpiryIndex(bucket_s=status.sweep_interval_s)
        self._read_expiry_fields = pipeline.results.avro.fields_reader(EXPIRY_FIELDS)
        registry = pipeline.metrics.registry
        self._expired = Counter(
            "tmc_status_rows_expired_total", "Terminal rows removed after their retention.",
            registry=registry,
        )  # fmt: skip
        self._late = Counter(
            "tmc_status_late_records_total",
            "Results not projected: their recovery has no row and started a retention ago.",
            registry=registry,
        )  # fmt: skip
        self._open: ProjectionBatch | None = None
        self._decoded = DecodedRows(DECODED_ROWS)
        self._splicer = MergeSplicer(pipeline.results, DECODED_ROWS)
        self._indexing: asyncio.Future[None] | None = None
        self._index_stale = False
        self._opened = asyncio.Event()

    def register(self) -> None:
        app, settings = self.p.app, self.p.settings
        self.p.read_directly(self.p.topics.results, self._project)
        app.agent(self.p.topics.merges, name="tmc-merges")(self._merge)
        linger_s = settings.status.batch_linger_s
        app.task(
            lambda: close_lingering(
                self._opened, linger_s, self._close_open, app.crash, self._reading_a_backlog
            )
        )
        app.timer(settings.status.sweep_interval_s)(self._send_ticks)
        self.p.tables.status.on_recover(self._forget_index)
        if settings.status.retention_s < settings.dedup.event_id_ttl_s:
            log.warning(
                "status.retention_s (%s) < dedup.event_id_ttl_s (%s): an error redelivered "
                "after its row expired starts its recovery again",
                settings.status.retention_s, settings.dedup.event_id_ttl_s,
            )  # fmt: skip

    async def _send_ticks(self) -> None:
        """A tick to each owned partition of the merges topic, where its rows expire. The
        first since a table recovery also starts the expiry index's rebuild."""
        merges = self.p.topics.merges
        owned = self.p.owned_partitions(merges)
        if self._index_stale:
            self._index_stale = False
            self._indexing = asyncio.ensure_future(self._index_terminal_rows(owned))
        for partition in owned:
            await merges.send(
                key=b"", value=TICK, partition=partition, headers=[(TICK_HEADER, b"")]
            )

    async def _forget_index(self) -> None:
        """After each rebalance's table recovery: the expiry index is rebuilt from the table
        by the next sweep, in the background, so neither the streams' resumption nor the
        first batches wait for a scan of every row (7 s at 100,000 rows). Until it is done a
        row it has not reached expires a sweep or more late, never early; a row the
        projection turns terminal meanwhile is indexed by the projection."""
        if self._indexing is not None:
            self._indexing.cancel()
        self.expiry.clear()
        self._index_stale = True

    async def _index_terminal_rows(self, owned: set[int]) -> None:
        """Expiry's one scan of every row, once per assignment, a slice at a time; rows
        written or expired meanwhile are read as they are then."""
        table, partitions = self.p.tables.status, self.p.settings.topics.partitions
        read = self._read_expiry_fields
        try:
            keys, terminal = list(table.keys()), 0
            for start in range(0, len(keys), INDEX_SLICE):
                for key in keys[start : start + INDEX_SLICE]:
                    partition = partition_for(key.encode(), partitions)
                    raw = table.get(key) if partition in owned else None
                    if raw is None:
                        continue
                    row = read(raw)
                    if RecoveryState(row["state"]).is_terminal:
                        expires = self.retention.expires_after(row["end_time"], row["start_time"])
                        self.expiry.add(partition, key, expires)
                        terminal += 1
                await asyncio.sleep(INDEX_PAUSE_S)
            log.info("expiry index rebuilt: %d terminal rows of %d", terminal, len(keys))
        except Exception as exc:  # a row this worker cannot read: stop rather than go on
            await self.p.app.crash(exc)

    def _expire(self, batch: ProjectionBatch, partition: int) -> None:
        """A tick of ``partition``: tombstone its terminal rows whose retention has passed
        (only the due buckets are read)."""
        expired = 0
        for key in self.expiry.pop_due(partition, self.p.clock()):
            held, row = batch.row(partition, key)
            if row is not None or (not held and key in self.p.tables.status):
                batch.rows.setdefault(partition, {})[key] = None
                expired += 1
        if expired:
            self._expired.inc(expired)
            log.debug("partition %d: %d terminal rows expired", partition, expired)

    async def _merge(self, stream: StreamT[bytes]) -> None:
        """Triage's merge notes, and this stage's own expiry ticks."""
        async for event in cast(faust.Stream[bytes], stream).noack().events():
            msg = event.message
            batch = self._batch()
            if TICK_HEADER in dict(header_pairs(msg.headers)):
                self._expire(batch, msg.partition)
            else:
                for note in decode_notes(msg.value):
                    self._fold(batch, msg.partition, note)
            await self._add(batch, event)

    def _fold(self, batch: ProjectionBatch, partition: int, note: MergeNote) -> None:
        """A note's merges onto its row. No row: not projected yet (the projection picks the
        claim's merges up then), or expired, and it stays so."""
        key = row_key(note.cluster, note.recovery_id)
        row = self._row(batch, partition, key)
        if row is not None:
            merged = with_merges(row, note.merged_ids, note.merged_count)
            if merged != row:
                batch.rows.setdefault(partition, {})[key] = merged

    async def _project(self, event: EventT[bytes]) -> None:
        """A results record, handed over by the consumer (``DirectRoutes``); acked when its
        batch closes."""
        msg = event.message
        batch = self._batch()
        try:
            incoming = self.p.results.decode(msg.value or b"")  # a tombstone: dead-lettered
        except DecodeError as exc:
            source = f"{msg.topic}:{msg.partition}:{msg.offset}"
            log.error("undecodable record on the results topic at %s: %s", source, exc)
            headers = dead_letter_headers([], Rejected(exc.reason, str(exc)), source)
            await self.p.topics.dlq.send(key=msg.key, value=msg.value, headers=headers)
        else:
            self.apply(batch, incoming, msg.partition)
        batch.projected[msg.partition] = msg.offset
        await self._add(batch, event)

    def apply(self, batch: ProjectionBatch, incoming: RecoveryResult, partition: int) -> None:
        """``incoming`` projected onto its row and its cluster's summary, in ``batch``."""
        key = row_key(incoming.kafka_key().decode(), incoming.id)
        before = self._row(batch, partition, key)
        if before is None and self.retention.is_late(incoming, self.p.clock()):
            self._late.inc()
            log.debug("not projected, its row may have expired: %s %s", incoming.id, incoming.state)
            return
        row = project_row(before, incoming)
        cluster = cluster_of(row)
        claim = self.p.dedup(partition, cluster).current_claim(row.strategy, row.target)
        if claim is not None and claim.recovery_id == row.id:
            row = with_merges(row, claim.merged_ids, claim.merged_count)
        if row == before:
            self._mend_summary(batch, partition, row)
            return
        batch.rows.setdefault(partition, {})[key] = row
        self._summarize(batch, partition, before, row)
        self._count_attempts(before, row)
        if row.state.is_terminal and (before is None or not before.state.is_terminal):
            self.expiry.add(partition, key, self.retention.expires_at(row))
            self._count_ending(row)
            if row.state is RecoveryState.ESCALATED:
                batch.escalations.append(row)

    def _row(self, batch: ProjectionBatch, partition: int, key: str) -> RecoveryResult | None:
        held, row = batch.row(partition, key)
        if held:
            return row
        raw = self.p.tables.status.get(key)
        if raw is None:
            return None
        row = self._decoded.get(key, raw)
        if row is None:
            row = self.p.results.decode(raw)
            self._decoded.put(key, raw, row)
        return row

    def _mend_summary(self, batch: ProjectionBatch, partition: int, row: RecoveryResult) -> None:
        """The table holds ``row`` already (a record read again after a crash); its summary
        may not. Rows and summaries are two changelogs, and a crash can keep a batch's row
        writes and lose its summary writes. A live row its summary does not list as active
        was never seen by it (an entry leaves only with the ending). A recovery whose
        worker died mid-attempt, its request already consumed, is resumed only if its
        summary lists it: the crash-storm test with a 250 ms status linger left such
        recoveries Pending for good. An ending row still listed as active is an ending the
        summary missed: counted now."""
        summary = self._summary(batch, partition, cluster_of(row))
        actives = () if summary is None else summary.active_recoveries
        listed = any(active.recovery_id == row.id for active in actives)
        if not row.state.is_terminal and not listed:
            self._summarize(batch, partition, None, row)
        elif row.state.is_terminal and listed:
            seen = dataclasses.replace(row, transitions=row.transitions[:-1])
            self._summarize(batch, partition, seen, row)

    def _summarize(
        self,
        batch: ProjectionBatch,
        partition: int,
        before: RecoveryResult | None,
        row: RecoveryResult,
    ) -> None:
        key = cluster_of(row)
        summary = self._summary(batch, partition, key)
        batch.summaries.setdefault(partition, {})[key] = project_summary(
            summary, before, row, now_ms(self.p.clock)
        )

    def _summary(self, batch: ProjectionBatch, partition: int, key: str) -> ClusterStatus | None:
        summaries = batch.summaries.get(partition, {})
        return summaries[key] if key in summaries else self.p.reads.summary(key)

    def _reading_a_backlog(self) -> bool:
        max_wait_s = self.p.settings.status.batch_max_wait_s
        return reading_a_backlog(self._open, max_wait_s, self.p.app.consumer.highwater)

    def _batch(self) -> ProjectionBatch:
        """The open batch; one begun before a rebalance is dropped, unacked."""
        generation = self.p.catchup.generation
        batch = self._open
        if batch is not None and batch.epoch != generation:
            batch.drop("a status batch")
            batch = None
        if batch is None:
            batch = self._open = ProjectionBatch(generation, time.monotonic())
            self._opened.set()
        return batch

    async def _add(self, batch: ProjectionBatch, event: EventT[bytes]) -> None:
        batch.add_event(event)
        if len(batch) >= self.p.settings.status.max_batch:
            # Shielded: the consumer cancels a delivery as a rebalance begins, and a batch
            # stopped half-way (rows written, events neither acked nor abandoned) would hold
            # up the revoke, which waits for every event.
            await asyncio.shield(self._close_open())

    async def _close_open(self) -> None:
        batch, self._open = self._open, None
        self._opened.clear()
        if batch is not None:
            await self.close(batch)

    async def close(self, batch: ProjectionBatch) -> None:
        """Write each partition's rows and summaries once, send the escalations once the rows
        are on the broker, ack the events, and only then say how far each results partition
        is projected."""
        if batch.epoch != self.p.catchup.generation:
            batch.drop("a status batch")
            return
        status, summaries = self.p.tables.status, self.p.tables.summaries
        for partition, event in batch.last_event_of.items():
            with current(event):
                for key, row in batch.rows.get(partition, {}).items():
                    if row is None:
                        status.pop(key, None)
                        self._decoded.drop(key)
                    else:
                        raw = self._encode(key, row)
                        status[key] = raw
                        self._decoded.put(key, raw, row)
                for cluster, summary in batch.summaries.get(partition, {}).items():
                    summaries[cluster] = self.p.summaries.encode(summary)
        if batch.escalations:
            # The rows on the broker before their escalations, as triage's state goes before
            # its decisions: a worker killed in between sent escalations whose rows it lost,
            # and the next owner, projecting the records again, sent them a second time.
            await self.p.app.producer.flush()
        for row in batch.escalations:
            await self.p.topics.escalations.send(
                key=row.kafka_key(), value=self.p.results.encode(row)
            )
        for event in batch.events:
            event.ack()
        for partition, offset in batch.projected.items():
            self.p.catchup.projected(partition, offset)

    def _encode(self, key: str, row: RecoveryResult) -> bytes:
        """A storm's merges into a row already written are spliced into its last bytes."""
        last = self._decoded.last(key)
        spliced = None if last is None else self._splicer.splice(*last, row)
        return self.p.results.encode(row) if spliced is None else spliced

    def _count_attempts(self, before: RecoveryResult | None, row: RecoveryResult) -> None:
        new = row.transitions[0 if before is None else len(before.transitions) :]
        started = sum(t.state is RecoveryState.IN_PROGRESS for t in new)
        if started:
            self.p.metrics.attempts.labels(row.error.type_name, row.strategy).inc(started)

    def _count_ending(self, row: RecoveryResult) -> None:
        labels = (row.error.type_name, row.strategy)
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
