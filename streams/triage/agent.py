"""Triage: one decision per admitted error, and the timers that keep dedup state tidy.

An error is dropped (an exact duplicate), merged into the recovery already healing its
(strategy, target), started as a new recovery on its strategy's request topic, or escalated
when nothing may act on it (streams/triage/decide.py). Ticks arrive per partition on the
re-key topic: "flush" writes batched merges onto recovery rows, "sweep" also re-checks every
claim and expires dedup rows. Both run inside stream iteration, so their table writes land on
the right partition.
"""

import logging
from collections import defaultdict
from collections.abc import AsyncIterator

from faust.types import StreamT

from schemas.codec import DecodeError
from schemas.records import TMCError
from streams.context import Pipeline, now_ms
from streams.partitioning import SEPARATOR
from streams.status.merges import MergeNote
from streams.triage import records
from streams.triage.decide import (
    NO_STRATEGY,
    Duplicate,
    Escalate,
    Merge,
    Start,
    decide,
    target_of,
)
from streams.triage.ids import Source, recovery_id, trigger_of

log = logging.getLogger(__name__)

TICK_HEADER = "tmc.tick"
FLUSH, SWEEP = b"flush", b"sweep"


class Triage:
    def __init__(self, pipeline: Pipeline) -> None:
        self.p = pipeline
        self._dirty: dict[int, set[str]] = defaultdict(set)  # partition -> claim keys

    def register(self) -> None:
        """The tick timers, and the agent that lets a claim go when its recovery ends; the
        errors themselves come from the ingest agents."""
        app, dedup = self.p.app, self.p.settings.dedup
        app.timer(dedup.merge_flush_s)(self._send_flush_ticks)
        app.timer(dedup.sweep_interval_s)(self._send_sweep_ticks)
        app.agent(self.p.channels.results, name="tmc-triage-endings")(self._endings)

    async def _endings(self, stream: StreamT[bytes]) -> AsyncIterator[None]:
        """A recovery that ended keeps its claim for the cooldown, then lets go: read from
        the results topic (its cluster's partition, so the claim write lands there too)."""
        async for event in stream.events():
            try:
                result = self.p.results.decode(event.message.value)
            except DecodeError:
                pass  # the status agent dead-letters it
            else:
                if result.state.is_terminal:
                    cluster = result.kafka_key().decode()
                    dedup = self.p.dedup(event.message.partition, cluster)
                    dedup.release(result.strategy, result.target, result.id, self.p.clock())
            yield None

    async def on_tick(self, partition: int, kind: bytes) -> None:
        """Inside stream iteration of ``partition``: send the merges of its claims to status
        (a note per recovery, on the same partition), and on a sweep expire dedup rows."""
        sweep = kind == SWEEP
        dedup = self.p.dedup(partition)
        keys = self._dirty.pop(partition, set())
        if sweep:  # also catches merges whose dirty mark a crash or rebalance lost
            keys.update(dedup.unflushed())
        for key in keys:
            claim = dedup.mark_flushed(key)
            if claim is not None:
                cluster = key.split(SEPARATOR, 1)[0]
                note = MergeNote(cluster, claim.recovery_id, claim.merged_ids, claim.merged_count)
                await self.p.channels.merges.send(
                    key=claim.recovery_id.encode(), value=note.encode(), partition=partition
                )
        if sweep:
            swept = dedup.sweep(self.p.clock())
            log.debug("partition %d: expired %d dedup rows", partition, swept)

    async def _send_flush_ticks(self) -> None:
        if self._dirty:
            await self._send_ticks(FLUSH, set(self._dirty))

    async def _send_sweep_ticks(self) -> None:
        await self._send_ticks(SWEEP, None)

    async def _send_ticks(self, kind: bytes, partitions: set[int] | None) -> None:
        """Send a tick to owned triage partitions (all of them when ``partitions`` is None)."""
        owned = self.p.owned_partitions(self.p.channels.triage)
        for partition in owned if partitions is None else owned & partitions:
            await self.p.channels.triage.send(
                key=b"", value=b"", partition=partition, headers=[(TICK_HEADER, kind)]
            )

    async def handle(self, error: TMCError, source: Source) -> None:
        """Decide what ``error``, read at ``source``, becomes; runs inside stream iteration
        of the cluster's partition, so every table write lands on it."""
        dedup = self.p.dedup(source.partition, error.kafka_key().decode())
        decision = decide(error, self.p.strategies, dedup, self.p.clock(), source)
        match decision:
            case Start():
                await self._start(error, decision, source)
            case Merge():
                self.p.metrics.deduplicated.labels("merged").inc()
                claim_key = dedup.claim_key(decision.strategy, decision.target)
                self._dirty[source.partition].add(claim_key)
            case Escalate():
                await self._escalate(error, decision, source)
            case Duplicate(redelivery=False):  # a resend: counted, nothing else
                self.p.metrics.deduplicated.labels("duplicate").inc()
            case Duplicate():
                await self._reconcile(error, decision, source)

    async def _start(self, error: TMCError, decision: Start, source: Source) -> None:
        chosen = decision.strategy
        record = records.pending(
            decision.recovery_id, chosen.name, chosen.max_attempts, decision.target,
            error, str(source), now_ms(self.p.clock),
        )  # fmt: skip
        self.p.metrics.started.labels(chosen.name).inc()
        await self.p.publish(record)
        value = self.p.results.encode(record)
        await self.p.channels.requests[chosen.name].send(key=record.kafka_key(), value=value)

    async def _escalate(self, error: TMCError, decision: Escalate, source: Source) -> None:
        record = records.escalated(
            decision.recovery_id, decision.target, error, decision.reason, str(source),
            now_ms(self.p.clock),
        )  # fmt: skip
        await self.p.publish(record)

    async def _reconcile(self, error: TMCError, duplicate: Duplicate, source: Source) -> None:
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
            return  # it was merged, and the claim's offsets keep that count exact
        if not await self.p.catchup.wait(source.partition):
            return  # no longer ours: the next owner sees the record again
        if self.p.row(error.kafka_key().decode(), duplicate.recovery_id) is not None:
            self.p.metrics.deduplicated.labels("redelivered").inc()
            return
        log.info("re-issuing recovery %s for redelivered %s", duplicate.recovery_id, source)
        self.p.metrics.deduplicated.labels("reissued").inc()
        if chosen is None:
            why = "not retryable" if not error.is_retryable() else "no enabled strategy"
            reason = f"no strategy: {error.type.value} ({why})"
            await self._escalate(error, Escalate(duplicate.recovery_id, target, reason), source)
        else:
            await self._start(error, Start(duplicate.recovery_id, chosen, target), source)
