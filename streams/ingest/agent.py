"""The ingest agents: raw records in, a decoded TMCError handed to triage, or a dead letter.

``tmc.errors`` is read as producers partitioned it. An error whose partition is not its
cluster's (a producer with another partitioner, e.g. librdkafka's default) is forwarded,
re-keyed, to the re-key topic (``tmc.errors.triage``), so that a cluster's dedup state lives on
one partition; what arrives there is decoded again and handed on. Records on the re-key topic
that carry triage's tick header are triage's own timers, and go straight to it.
"""

import logging
from collections.abc import AsyncIterator

from faust.types import EventT, StreamT

from streams.context import Pipeline, header_pairs
from streams.ingest.admission import Rejected, admit, dead_letter_headers
from streams.partitioning import partition_for
from streams.triage.agent import TICK_HEADER, Triage
from streams.triage.ids import Source

log = logging.getLogger(__name__)


class IngestAgents:
    def __init__(self, pipeline: Pipeline, triage: Triage) -> None:
        self.p = pipeline
        self.triage = triage

    def register(self) -> None:
        app, channels = self.p.app, self.p.channels
        app.agent(channels.errors, name="tmc-ingest")(self._errors)
        app.agent(channels.triage, name="tmc-triage")(self._rekeyed)

    async def _errors(self, stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            self.p.metrics.received.inc()
            await self._admit(event, forward=True)
            yield None

    async def _rekeyed(self, stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            tick = dict(header_pairs(event.message.headers)).get(TICK_HEADER)
            if tick is None:
                await self._admit(event, forward=False)
            else:
                await self.triage.on_tick(event.message.partition, tick)
            yield None

    async def _admit(self, event: EventT[bytes], forward: bool) -> None:
        msg = event.message
        source = Source(msg.topic, msg.partition, msg.offset)
        admitted = await admit(
            msg.value, self.p.errors, self.p.settings.ingest, self.p.schema_registry_configured
        )
        if isinstance(admitted, Rejected):
            await self._dead_letter(event, admitted, source)
            return
        key = admitted.kafka_key()
        if forward and partition_for(key, self.p.settings.topics.partitions) != msg.partition:
            self.p.metrics.forwarded.inc()
            await self.p.channels.triage.send(key=key, value=msg.value, headers=msg.headers)
            return
        await self.triage.handle(admitted, source)

    async def _dead_letter(self, event: EventT[bytes], rejected: Rejected, source: Source) -> None:
        msg = event.message
        log.warning("dead-lettered %s: %s", source, rejected.detail)
        self.p.metrics.dead_lettered.labels(rejected.reason).inc()
        headers = dead_letter_headers(header_pairs(msg.headers), rejected, str(source))
        await self.p.channels.dlq.send(key=msg.key, value=msg.value, headers=headers)
