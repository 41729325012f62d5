"""The ingest stage's reader: raw records in, a decoded TMCError handed to triage, or a dead
letter. No Faust agent reads these topics: the consumer hands each record over straight from
its fetched batch (streams/batch_delivery.py, ``DirectRoutes``).

``tmc.errors`` is read as producers partitioned it. An error whose partition is not its
cluster's (a producer with another partitioner, e.g. librdkafka's default) is forwarded,
re-keyed, to the re-key topic (``tmc.errors.triage``), so that a cluster's dedup state lives on
one partition; what arrives there is decoded again and handed on. Records on the re-key topic
that carry triage's tick header are triage's own sweep timer: they only close a batch.
"""

import logging
from collections.abc import Callable

from faust.types import TP, EventT, Message

from streams.context import Shared, header_pairs
from streams.ingest.admission import Rejected, admit, dead_letter_headers
from streams.partitioning import partition_for
from streams.triage.agent import TICK_HEADER, Triage
from streams.triage.batch import Outgoing
from streams.triage.ids import Source

log = logging.getLogger(__name__)


class IngestReader:
    def __init__(self, pipeline: Shared, triage: Triage) -> None:
        self.p = pipeline
        self.triage = triage
        self._read_at: dict[TP, int] = {}  # the offset of the last error read, per partition

    def register(self) -> None:
        self.p.read_directly(self.p.topics.errors, self._error)
        self.p.read_directly(self.p.topics.triage, self._rekeyed)

    async def _error(self, event: EventT[bytes]) -> None:
        await self._take(event, forward=True)

    async def _rekeyed(self, event: EventT[bytes]) -> None:
        await self._take(event, forward=False)

    async def _take(self, event: EventT[bytes], forward: bool) -> None:
        """Admit the record at once; triage acks it when its batch closes
        (streams/triage/batch.py)."""
        epoch = self.triage.epoch
        outgoing = []
        if not is_tick(event):  # a tick only puts its partition in a batch, for the sweep
            if forward:
                self.p.metrics.received.inc()
                self._note_read(event.message)
            outgoing = await self._admit(event, forward)
        await self.triage.add(event, outgoing, epoch)

    def _note_read(self, message: Message) -> None:
        """Where the partition's reading stands; its lag gauge is worked out when scraped
        (the consumer knows the partition's end: no extra request), not set per error."""
        tp = message.tp
        if tp not in self._read_at:
            self.p.metrics.lag.labels(str(tp.partition)).set_function(self._lag_of(tp))
        self._read_at[tp] = message.offset

    def _lag_of(self, tp: TP) -> Callable[[], float]:
        """The gauge's reading; the last one known while the end is not (after a revoke)."""
        consumer, last = self.p.app.consumer, 0.0

        def lag() -> float:
            nonlocal last
            measured = consumer_lag(consumer.highwater(tp), self._read_at[tp])
            last = last if measured is None else measured
            return last

        return lag

    async def _admit(self, event: EventT[bytes], forward: bool) -> list[Outgoing]:
        msg = event.message
        source = Source(msg.topic, msg.partition, msg.offset)
        admitted = await admit(
            msg.value, self.p.errors, self.p.settings.ingest, self.p.schema_registry_configured
        )
        if isinstance(admitted, Rejected):
            await self._dead_letter(event, admitted, source)
            return []
        key = admitted.kafka_key()
        if forward and partition_for(key, self.p.settings.topics.partitions) != msg.partition:
            self.p.metrics.forwarded.inc()
            await self.p.topics.triage.send(key=key, value=msg.value, headers=msg.headers)
            return []
        return await self.triage.handle(admitted, source)

    async def _dead_letter(self, event: EventT[bytes], rejected: Rejected, source: Source) -> None:
        msg = event.message
        log.warning("dead-lettered %s: %s", source, rejected.detail)
        self.p.metrics.dead_lettered.labels(rejected.reason).inc()
        headers = dead_letter_headers(header_pairs(msg.headers), rejected, str(source))
        await self.p.topics.dlq.send(key=msg.key, value=msg.value, headers=headers)


def consumer_lag(highwater: int | None, offset: int) -> int | None:
    """Records after ``offset`` up to the partition's end (None: the end is not known yet,
    before the first fetch's response)."""
    return None if highwater is None else max(highwater - offset - 1, 0)


def is_tick(event: EventT[bytes]) -> bool:
    return any(name == TICK_HEADER for name, _ in header_pairs(event.message.headers))
