"""What an assignment does before the worker acts: the catch-up of ``catchup.py``, run.

On each assignment the worker measures how far the results topic reaches on its partitions
(``offset_probe.py``), off the rebalance path, and waits until status has projected that far.
Errors wait in the consumer meanwhile (the ingest gate): triage reads the status table for a
redelivered one. Then the gates open, every active recovery of the owned partitions goes back
to the executor (``resume``), and the worker is marked ready. A projection that stops moving
while records wait is reported, and its fetch restarted (the stall watch).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from faust.types import TP

from schemas.records import RecoveryResult
from streams.batch_delivery import BatchDeliveryConsumer
from streams.context import Shared
from streams.partitioning import partition_for
from streams.readiness import Readiness
from streams.stall_watch import StallWatch, consumer_view
from streams.status.offset_probe import OffsetProbe

log = logging.getLogger(__name__)


class Assignments:
    def __init__(
        self,
        shared: Shared,
        offsets: OffsetProbe,
        readiness: Readiness,
        stall_watch: StallWatch | None,
        gated_topics: set[str],
        resume: Callable[[RecoveryResult], Awaitable[None]],
    ) -> None:
        """``gated_topics``: what waits for the catch-up (the errors and re-key topics);
        ``resume``: hands a recovery read back from the table to the executor."""
        self.p, self.app, self.catchup = shared, shared.app, shared.catchup
        self.offsets, self.readiness, self.stall_watch = offsets, readiness, stall_watch
        self.gated_topics, self.resume = gated_topics, resume
        self._catching_up: asyncio.Future[None] | None = None

    def register(self) -> None:
        self.p.tables.summaries.on_recover(self._on_recovered)
        self.app.on_partitions_assigned.connect(self._on_assigned)

    @property
    def _consumer(self) -> BatchDeliveryConsumer:
        """Faust makes the consumer on first use; streams/transport.py names its class."""
        return cast(BatchDeliveryConsumer, self.app.consumer)

    async def _on_assigned(self, sender: Any, /, *args: Any, signal: Any, **_: Any) -> None:
        assigned: set[TP] = args[0]
        topic = self.p.topics.results.get_topic_name()
        partitions = {tp.partition for tp in assigned if tp.topic == topic}
        self.catchup.assign(partitions)
        self._consumer.gate = self._ingest_gate
        # Measured off the rebalance path: the callback must not hold up the group.
        self._catching_up = asyncio.ensure_future(self._catch_up(topic, partitions))

    def _ingest_gate(self, tp: TP) -> bool:
        """Errors wait until their partition has caught up: triage reads the status table
        for a redelivered one (streams/batch_delivery.py says why they wait in the consumer)."""
        return tp.topic not in self.gated_topics or self.catchup.is_open(tp.partition)

    async def _on_recovered(self) -> None:
        self.catchup.recovered()

    async def _catch_up(self, topic: str, partitions: set[int]) -> None:
        """Measure the targets, wait until they are met, then resume: once per assignment."""
        generation = self.catchup.generation
        delay_s = 0.5
        while self.catchup.generation == generation:
            try:
                ends, committed = await self.offsets.measure(topic, partitions)
                break
            except Exception as exc:  # the broker is briefly unavailable: try again
                log.warning("measuring the results topic failed (%s); retrying", exc)
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, 10.0)
        else:
            return
        self.catchup.set_targets(ends, committed)
        patience_s, waited_s = self.p.settings.kafka.stall_after_s, 0.0
        before = self.catchup.lagging()
        while not await self.catchup.wait_all(partitions, patience_s):
            waited_s += patience_s
            lagging = self.catchup.lagging()
            self._report_lag(topic, waited_s, lagging)
            stuck = {p: lag for p, lag in lagging.items() if before.get(p) == lag}
            await self._seek_stuck_projections(topic, stuck, patience_s)
            before = lagging
        if self.catchup.generation == generation:
            await self._consumer.open_gates()
            resumed = await self._resume(partitions)
            self.readiness.mark_ready(
                f"results partitions {sorted(partitions)} caught up, {resumed} recoveries resumed"
            )

    def _report_lag(
        self, topic: str, waited_s: float, lagging: dict[int, tuple[int, int | None]]
    ) -> None:
        """Not ready for long: how far each lagging partition is, and what Faust's consumer
        holds for it."""
        consumer = self.app.consumer
        for partition, (projected, target) in lagging.items():
            log.warning(
                "not ready after %.0f s: results partition %d projected to %d of %s (%s)",
                waited_s, partition, projected, target if target is not None else "unmeasured",
                consumer_view(consumer, TP(topic, partition)),
            )  # fmt: skip

    async def _seek_stuck_projections(
        self, topic: str, stuck: dict[int, tuple[int, int | None]], patience_s: float
    ) -> None:
        """A projection that has not moved for ``patience_s`` with records waiting is
        stalled, though the topic may look busy to the stall watch for a while (in CI,
        Faust held results messages that no agent was processing). Readiness waits on it,
        so its fetch restarts now, at the first offset not projected; the projection is
        idempotent, so what comes twice is harmless."""
        if self.stall_watch is None:
            return
        for partition, (projected, target) in stuck.items():
            if target is not None and projected < target:
                why = f"projection stuck at {projected} of {target} for {patience_s:.0f} s"
                await self.stall_watch.seek_back(TP(topic, partition), projected, why)

    async def _resume(self, owned: set[int]) -> int:
        """Hand every active recovery of the owned partitions back to the executor."""
        resumed, reads, partitions = 0, self.p.reads, self.p.settings.topics.partitions
        for summary in reads.summaries_where(
            lambda cluster: partition_for(cluster.encode(), partitions) in owned
        ):
            for active in summary.active_recoveries:
                row = reads.row(summary.cluster_name, active.recovery_id)
                if row is not None and not row.state.is_terminal:
                    await self.resume(row)
                    resumed += 1
        log.info("resumed %d recoveries on partitions %s", resumed, sorted(owned))
        return resumed
