"""Ingest and triage: tmc.errors -> DLQ, or one decision per error.

Errors whose partition is not their cluster's (a producer with another partitioner) are
forwarded, re-keyed, to the triage topic, so dedup state for a cluster lives on one
partition. The triage topic also carries per-partition ticks that expire dedup rows.
"""

import logging
from collections.abc import AsyncIterator

from faust.types import EventT, StreamT

from schemas.records import TMCError
from streams.agents.context import Pipeline, header_pairs, now_ms
from streams.ingest import Rejected, admit, dead_letter_headers
from streams.partitioning import partition_for
from streams.projection import with_merges
from streams.triage import records
from streams.triage.decide import Duplicate, Escalate, Merge, Start, decide
from streams.triage.ids import recovery_id, trigger_of

log = logging.getLogger(__name__)

TICK_HEADER = "tmc.tick"


class TriageAgents:
    def __init__(self, pipeline: Pipeline) -> None:
        self.p = pipeline

    def register(self) -> None:
        app, channels = self.p.app, self.p.channels
        app.agent(channels.errors, name="tmc-ingest")(self._ingest)
        app.agent(channels.triage, name="tmc-triage")(self._repartitioned)
        app.timer(self.p.settings.dedup.sweep_interval_s)(self._send_ticks)

    async def _ingest(self, stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            self.p.metrics.received.inc()
            await self._handle(event, forward=True)
            yield None

    async def _repartitioned(self, stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            if any(key == TICK_HEADER for key, _ in header_pairs(event.message.headers)):
                swept = self.p.dedup(event.message.partition).sweep(self.p.clock())
                log.debug("partition %d: expired %d dedup rows", event.message.partition, swept)
            else:
                await self._handle(event, forward=False)
            yield None

    async def _send_ticks(self) -> None:
        """Ask each owned triage partition to expire its dedup rows, inside its stream."""
        topic = self.p.channels.triage.get_topic_name()
        for tp in self.p.app.assignor.assigned_actives():
            if tp.topic == topic:
                await self.p.channels.triage.send(
                    key=b"", value=b"", partition=tp.partition, headers=[(TICK_HEADER, b"1")]
                )

    async def _handle(self, event: EventT[bytes], forward: bool) -> None:
        msg = event.message
        source = f"{msg.topic}:{msg.partition}:{msg.offset}"
        admitted = await admit(
            msg.value, self.p.errors, self.p.settings.ingest, self.p.registry_configured
        )
        if isinstance(admitted, Rejected):
            await self._dead_letter(event, admitted, source)
            return
        key = admitted.kafka_key()
        if forward and partition_for(key, self.p.settings.topics.partitions) != msg.partition:
            self.p.metrics.forwarded.inc()
            await self.p.channels.triage.send(key=key, value=msg.value, headers=msg.headers)
            return
        decision = decide(
            admitted, self.p.registry, self.p.dedup(msg.partition), self.p.clock(), source
        )
        match decision:
            case Start():
                await self._start(admitted, decision, source)
            case Merge():
                self._merge(decision)
            case Escalate():
                await self._escalate(admitted, decision, source)
            case Duplicate():
                self.p.metrics.deduplicated.labels("duplicate").inc()
                await self._reconcile(admitted, decision, source)

    async def _dead_letter(self, event: EventT[bytes], rejected: Rejected, source: str) -> None:
        msg = event.message
        log.warning("dead-lettered %s: %s", source, rejected.detail)
        self.p.metrics.dead_lettered.labels(rejected.reason).inc()
        headers = dead_letter_headers(header_pairs(msg.headers), rejected, source)
        await self.p.channels.dlq.send(key=msg.key, value=msg.value, headers=headers)

    async def _start(self, error: TMCError, decision: Start, source: str) -> None:
        chosen = decision.strategy
        record = records.pending(
            decision.recovery_id, chosen.name, chosen.max_attempts, decision.target,
            error, source, now_ms(self.p.clock),
        )  # fmt: skip
        self.p.metrics.started.labels(chosen.name).inc()
        await self.p.publish(record)
        value = self.p.results.encode(record)
        await self.p.channels.requests[chosen.name].send(key=record.kafka_key(), value=value)

    def _merge(self, decision: Merge) -> None:
        """Record the merge on the row now if it exists (else the results agent adds it)."""
        self.p.metrics.deduplicated.labels("merged").inc()
        claim = self.p.dedup(0).current_claim(decision.strategy, decision.target)
        row = self.p.row(decision.recovery_id)
        if row is not None and claim is not None:
            merged = with_merges(row, claim.merged_ids, claim.merged_count)
            self.p.tables.status[row.id] = self.p.results.encode(merged)

    async def _escalate(self, error: TMCError, decision: Escalate, source: str) -> None:
        record = records.escalated(
            decision.recovery_id, decision.target, error, decision.reason, source,
            now_ms(self.p.clock),
        )  # fmt: skip
        await self.p.publish(record)

    async def _reconcile(self, error: TMCError, duplicate: Duplicate, source: str) -> None:
        """A redelivered event whose recovery never reached the table: issue it again.

        Only the event that started a recovery re-issues it; ids are deterministic, so the
        request and the Pending record are the same as the first time (idempotent).
        """
        if duplicate.recovery_id is None or self.p.row(duplicate.recovery_id) is not None:
            return
        chosen = self.p.registry.select(error)
        if chosen is None:
            return
        target = chosen.strategy.target(error)
        if recovery_id(chosen.name, target, trigger_of(error, source)) != duplicate.recovery_id:
            return
        log.info("re-issuing recovery %s for redelivered %s", duplicate.recovery_id, source)
        await self._start(error, Start(duplicate.recovery_id, chosen, target), source)
