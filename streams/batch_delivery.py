"""Faust's Kafka transport, delivering each fetched batch under one guard instead of one per record.

Faust's consumer hands every fetched record to the conductor through ``Service.wait_first``,
racing it against a rebalance's ``suspend_flow``: four tasks and an ``asyncio.wait`` per
record, about two thirds of the CPU an agent that does nothing spends per record
(``python -m bench.faust_floor``). Here one such race guards a whole fetched batch.
What a rebalance needs is kept record by record: delivery stops at the first record
after the flow stops or the group's generation moves on, and a record before the partition's
read offset (a re-fetch after a seek) is skipped, exactly as Faust does it.
"""

import asyncio
from collections.abc import Sequence
from typing import Any, ClassVar

from faust.transport.drivers import aiokafka as driver
from faust.types import TP, Message
from mode import ServiceT

#: Records delivered between two yields to the event loop, as Faust does.
YIELD_EVERY = 100


class BatchDeliveryConsumer(driver.Consumer):
    async def _drain_messages(self, fetcher: ServiceT) -> None:
        """Fetch, then deliver the whole batch, until the consumer or the fetcher stops."""
        fetcher_stopped = fetcher._stopped.is_set  # type: ignore[attr-defined]
        try:
            while not (self._stopped.is_set() or fetcher_stopped()):
                await self.sleep(0)  # getmany may return at once, again and again
                if self.should_stop:
                    break
                generation = self.app.consumer_generation_id
                batch = [pair async for pair in self.getmany(timeout=1.0)]
                if batch:
                    delivery = self._deliver(batch, generation)
                    await self.wait_first(delivery, self.suspend_flow.wait())
        except self.consumer_stopped_errors:
            if not self.transport.app.should_stop:
                raise
            self.log.info("Broker stopped consumer, shutting down...")
        except asyncio.CancelledError:
            if not self.transport.app.should_stop:
                raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise

    async def _deliver(self, batch: Sequence[tuple[TP, Message]], generation: int) -> None:
        """Hand each record to the conductor while the group is still in ``generation`` (the
        one before the fetch: a batch fetched across a rebalance is dropped and fetched again)."""
        read_offset = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        for delivered, (tp, message) in enumerate(batch):
            if not self.flow_active or self.app.consumer_generation_id != generation:
                return  # a rebalance began: the rest is fetched again from committed offsets
            if delivered and not delivered % YIELD_EVERY:
                await asyncio.sleep(0)
            offset, last = message.offset, read_offset[tp]
            if last is not None and offset < last:
                continue
            if last and offset - last > 1 and acks_enabled_for(message.topic):
                await self._add_gap(tp, last + 1, offset)  # compaction or transaction markers
            if self._commit_every is not None and self._n_acked >= self._commit_every:
                self._n_acked = 0
                await self.commit()
            await self.callback(message)
            read_offset[tp] = offset


class BatchDeliveryTransport(driver.Transport):
    Consumer: ClassVar[Any] = BatchDeliveryConsumer
