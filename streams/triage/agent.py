"""Triage: one decision per admitted error, taken in batches (streams/triage/batch.py).

An error is dropped (an exact duplicate), merged into the recovery already healing its
(strategy, target), started as a new recovery on its strategy's request topic, suppressed (a
recovery ended Suppressed at once) when an operator's silence covers it (streams/silences/), or
escalated when nothing may act on it (streams/triage/decide.py). Decisions are taken at once
against the in-memory dedup state; closing a batch (a task, ``batch_linger_s`` after its first
event) writes that state, tells status what merged (one note per claim per batch, on the
status-internal merges topic), sends the decisions' records, and acks the events. A periodic
sweep tick on the re-key topic puts an otherwise idle partition in a batch, so its expired dedup
rows leave too. Triage is the only writer of the dedup tables; it also lets a claim go when its
recovery ends, from the results topic.
"""

import asyncio
import dataclasses
import logging
import time

from faust.types import EventT

from schemas.codec import DecodeError
from schemas.records import RecoveryResult, RecoveryState, StateTransition, TMCError
from streams.batching import abandon, close_lingering, current, reading_a_backlog
from streams.context import Shared, now_ms
from streams.metrics import CircuitCollector
from streams.silences.state import suppressed_reason
from streams.silences.view import SilenceView
from streams.status.merges import MergeNote, encode_notes
from streams.triage import records
from streams.triage.batch import Outgoing, TriageBatch
from streams.triage.decide import (
    NO_STRATEGY,
    Duplicate,
    Escalate,
    Merge,
    Start,
    Suppress,
    decide,
    target_of,
    unclaimed,
)
from streams.triage.guards import Guards
from streams.triage.ids import Source, recovery_id, trigger_of

log = logging.getLogger(__name__)

TICK_HEADER = "tmc.tick"
#: The gate a suppressed recovery's record names (``context.metadata``).
SILENCE = "silence"
SWEEP = b"sweep"


class Triage:
    def __init__(self, pipeline: Shared, silences: SilenceView) -> None:
        """``silences``: the worker's view of the silences, asked before a recovery starts."""
        self.p = pipeline
        self.silences = silences
        settings = pipeline.settings
        self.guards = Guards(
            pipeline.tables.guards,
            settings.circuit_breaker,
            settings.flap_damping,
            settings.topics.partitions,
            lambda: self.p.dedup_state.epoch,
        )
        self._open: TriageBatch | None = None
        self._opened = asyncio.Event()

    def register(self) -> None:
        """The batch closer, the sweep timer, and the agent that lets a claim go when its
        recovery ends; the errors themselves come from the ingest reader."""
        app = self.p.app
        settings = self.p.settings.dedup
        app.task(
            lambda: close_lingering(
                self._opened,
                settings.batch_linger_s,
                self._close_open,
                app.crash,
                keep_open=self._reading_a_backlog,
            )
        )
        app.timer(self.p.settings.dedup.sweep_interval_s)(self._send_sweep_ticks)
        self.p.read_directly(self.p.topics.results, self._endings)
        self.p.metrics.registry.register(
            CircuitCollector(self.p.strategies.names(), self._circuit_counts)
        )

    def _circuit_counts(self) -> dict[tuple[str, str], int]:
        owned = self.p.owned_partitions(self.p.topics.results)
        return self.guards.circuit_counts(owned, self.p.clock())

    @property
    def epoch(self) -> int:
        """The dedup state's generation: read it before deciding an event, pass it to add."""
        return self.p.dedup_state.epoch

    async def add(self, event: EventT[bytes], outgoing: list[Outgoing], epoch: int) -> None:
        """Put a decided event, and its records, in the open batch. An event decided against
        state a rebalance has since discarded is left unacked: it is read again. A batch begun
        before a rebalance is dropped before a later event joins it: a backlog can keep it open
        across the rebalance (``_reading_a_backlog``), and its drop at closing would abandon
        the later events with it, which no seek reads again."""
        if epoch != self.epoch:
            abandon([event])
            return
        if self._open is not None and self._open.epoch != epoch:
            self._open.drop("a triage batch")
            self._open = None
        if self._open is None:
            self._open = TriageBatch(epoch, time.monotonic())
            self._opened.set()
        self._open.add(event, outgoing)
        if len(self._open) >= self.p.settings.dedup.max_batch:
            # Shielded: the consumer cancels a delivery as a rebalance begins, and a batch
            # stopped half-way (state written, decisions unsent, events neither acked nor
            # abandoned) would hold up the revoke, which waits for every event.
            await asyncio.shield(self._close_open())

    def _reading_a_backlog(self) -> bool:
        """A backlog keeps a batch open only while the batch is merging (``merging``)."""
        max_wait_s = self.p.settings.dedup.batch_max_wait_s
        batch, highwater = self._open, self.p.app.consumer.highwater
        return (
            batch is not None
            and batch.merging()
            and reading_a_backlog(batch, max_wait_s, highwater)
        )

    async def _close_open(self) -> None:
        batch, self._open = self._open, None
        self._opened.clear()
        if batch is not None:
            await self.close(batch)

    async def close(self, batch: TriageBatch) -> None:
        """Write each partition's dedup state, wait until it is on the broker, send what the
        batch decided, ack its events."""
        if batch.epoch != self.p.dedup_state.epoch:
            batch.drop("a triage batch")  # whoever owns the partitions now reads them again
            return
        now = self.p.clock()
        for partition, event in batch.last_event_of.items():
            with current(event):
                await self._flush(partition, now)
        # The state on the broker before what it decided: Faust's producer buffers the tables'
        # changelog records and hands them out one by one, while a send goes out at once. A
        # worker killed in between published recoveries whose claims it lost, and the next
        # owner, reading the errors again, decided them afresh and started them again.
        await self.p.app.producer.flush()
        for out in batch.outbox:
            await out.topic.send(key=out.key, value=out.value)
        for event in batch.events:
            event.ack()

    async def _flush(self, partition: int, now: float) -> None:
        """Write the partition's dedup state and gates, then tell status what merged: one
        record, split only past the size limit (streams/status/merges.py)."""
        self.guards.partition(partition).flush(now)
        notes = self.p.dedup_state.partition(partition).flush(now)
        if notes:
            merged = [
                MergeNote(n.cluster, n.claim.recovery_id, n.new_ids, n.claim.merged_count)
                for n in notes
            ]
            for value in encode_notes(merged):
                await self.p.topics.merges.send(
                    key=notes[0].cluster.encode(), value=value, partition=partition
                )

    async def _endings(self, event: EventT[bytes]) -> None:
        """A recovery that ended keeps its claim for the cooldown, then lets go: read from
        the results topic (``DirectRoutes``), whose event (on the cluster's partition) is
        current for the write."""
        try:
            result = self.p.results.decode(event.message.value or b"")
        except DecodeError:
            pass  # the status stage dead-letters it
        else:
            if result.state.is_terminal:
                with current(event):
                    self._release(result, event.message.partition, event.message.offset)
        event.ack()

    def _release(self, result: RecoveryResult, partition: int, offset: int) -> None:
        """Let the claim go, and count the ending on the circuit breaker and flap record.
        Written now: the claim, and the partition's gate rows (a handful); the rest of its
        pending dedup state waits for its batch. Writing all of it at each ending wrote every
        claim a storm was merging into once per ending, not once per batch (a quarter of a
        storm's CPU)."""
        now = self.p.clock()
        cluster = result.kafka_key().decode()
        dedup = self.p.dedup(partition, cluster)
        if dedup.release(result.strategy, result.target, result.id, now):
            dedup.write_claim(result.strategy, result.target)
        self.guards.for_cluster(partition, cluster).ended(result, offset)
        self.guards.partition(partition).flush(now)

    async def _send_sweep_ticks(self) -> None:
        """A tick to every owned partition of the re-key topic: it closes a batch there, which
        expires what is due. The first since a rebalance reads what expires first."""
        self.p.dedup_state.read_claims()
        self.guards.read_expiry()
        triage = self.p.topics.triage
        for partition in self.p.owned_partitions(triage):
            headers = [(TICK_HEADER, SWEEP)]
            await triage.send(key=b"", value=b"", partition=partition, headers=headers)

    async def handle(self, error: TMCError, source: Source) -> list[Outgoing]:
        """Decide what ``error``, read at ``source``, becomes; the records to send for it."""
        cluster = error.kafka_key().decode()
        dedup = self.p.dedup(source.partition, cluster)
        guards = self.guards.for_cluster(source.partition, cluster)
        silences = self.silences.state
        decision = decide(error, self.p.strategies, dedup, self.p.clock(), source, guards, silences)
        match decision:
            case Start():
                return self._start(error, decision, source)
            case Suppress():
                return self._suppress(error, decision, source)
            case Merge():
                self.p.metrics.merged.inc()
                if decision.silence is not None:
                    self.p.metrics.suppressed.labels(decision.strategy).inc()
            case Escalate():
                return self._escalate(error, decision, source)
            case Duplicate(redelivery=False):  # a resend: counted, nothing else
                self.p.metrics.duplicates.inc()
            case Duplicate():
                return await self._reconcile(error, decision, source)
        return []

    def _start(self, error: TMCError, decision: Start, source: Source) -> list[Outgoing]:
        chosen = decision.strategy
        record = records.pending(
            decision.recovery_id, chosen.name, chosen.max_attempts, decision.target,
            error, str(source), now_ms(self.p.clock),
        )  # fmt: skip
        self.p.metrics.started.labels(chosen.name).inc()
        key, value = record.kafka_key(), self.p.results.encode(record)
        requests = self.p.topics.requests[chosen.name]
        return [Outgoing(self.p.topics.results, key, value), Outgoing(requests, key, value)]

    def _suppress(self, error: TMCError, decision: Suppress, source: Source) -> list[Outgoing]:
        """A recovery a silence suppressed: recorded, ended at once, counted; nothing acts."""
        now, strategy = now_ms(self.p.clock), decision.strategy
        reason = suppressed_reason(decision.silence)
        record = dataclasses.replace(
            records.escalated(
                decision.recovery_id, decision.target, error, reason, str(source), now, SILENCE
            ),
            strategy=strategy,
            state=RecoveryState.SUPPRESSED,
            transitions=(StateTransition(RecoveryState.SUPPRESSED, now, 0, reason),),
        )
        self.p.metrics.suppressed.labels(strategy).inc()
        value = self.p.results.encode(record)
        return [Outgoing(self.p.topics.results, record.kafka_key(), value)]

    def _escalate(self, error: TMCError, decision: Escalate, source: Source) -> list[Outgoing]:
        record = records.escalated(
            decision.recovery_id, decision.target, error, decision.reason, str(source),
            now_ms(self.p.clock), decision.gate, decision.next_steps,
        )  # fmt: skip
        if decision.strategy != NO_STRATEGY:  # a gate stopped it: the strategy it would have run
            record = dataclasses.replace(record, strategy=decision.strategy)
            self.p.metrics.gate_escalations.labels(decision.gate).inc()
        value = self.p.results.encode(record)
        return [Outgoing(self.p.topics.results, record.kafka_key(), value)]

    async def _reconcile(
        self, error: TMCError, duplicate: Duplicate, source: Source
    ) -> list[Outgoing]:
        """A redelivered record (a crash or a rebalance came between its triage and its
        commit): issue its recovery again if, and only if, its outcome never got out.

        Only the record that started a recovery re-issues it, and only once the status table
        holds everything already on the results topic, so "no row" means "never published".
        Ids are deterministic, so the records are the same as the first time (idempotent).
        """
        chosen, target = target_of(error, self.p.strategies)
        name = NO_STRATEGY if chosen is None else chosen.name
        trigger = trigger_of(error, source)
        if duplicate.recovery_id != recovery_id(name, target, trigger):
            self.p.metrics.deduplicated.labels("redelivered").inc()
            return []  # it was merged, and the claim's offsets keep that count exact
        if not await self.p.catchup.wait(source.partition):
            return []  # no longer ours: the next owner sees the record again
        if self.p.reads.row(error.kafka_key().decode(), duplicate.recovery_id) is not None:
            self.p.metrics.deduplicated.labels("redelivered").inc()
            return []
        log.info("re-issuing recovery %s for redelivered %s", duplicate.recovery_id, source)
        self.p.metrics.deduplicated.labels("reissued").inc()
        now, cluster = self.p.clock(), error.kafka_key().decode()
        dedup = self.p.dedup(source.partition, cluster)
        claim = dedup.current_claim(name, target)
        if claim is not None and claim.silence and claim.recovery_id == duplicate.recovery_id:
            # Suppressed the first time (its claim says by which silence): suppressed again.
            silence = self.silences.state.silences.get(claim.silence)
            if silence is not None:
                suppress = Suppress(duplicate.recovery_id, name, target, silence)
                return self._suppress(error, suppress, source)
        if chosen is None:
            return self._escalate(error, unclaimed(error, duplicate.recovery_id, target), source)
        # The first decision's records never got out: the gates decide again, as of now.
        guards = self.guards.for_cluster(source.partition, cluster)
        refusal = guards.admit(chosen.name, target, duplicate.recovery_id, now)
        if refusal is not None:
            dedup.release(chosen.name, target, duplicate.recovery_id, now)
            gated = Escalate(
                duplicate.recovery_id, target, refusal.reason, chosen.name, refusal.gate,
                refusal.next_steps,
            )  # fmt: skip
            return self._escalate(error, gated, source)
        return self._start(error, Start(duplicate.recovery_id, chosen, target), source)
