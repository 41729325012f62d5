"""Faust's producer, with a flush that waits for every record buffered before it.

A table write does not reach Kafka at once: Faust puts its changelog record in the producer's
buffer, and a task hands the buffer to the Kafka client one record at a time. Before each
offset commit Faust flushes the producer, so that the commit never covers input whose table
writes could still be lost. But Faust's buffer flush returns as soon as no record has gone out
for 0.1 s, with records still in the buffer: when the client's own buffer is full (the log
says ``producer buffer full``), or when the loop is busy. The commit then goes ahead, and a
worker killed before the rest goes out has committed input whose claims or rows never reached
the changelog. Its successor restores the tables without them and never reads that input
again: errors that no claim and no row counts.

So this buffer's flush waits until every record put in it before the flush began is with the
client (records go out in order, so counting them is enough). Records put meanwhile are left
to the next flush, so a storm of table writes never starves the commit. If the broker is down
the flush waits as long as the broker is down, and the commit waits with it.
"""

import asyncio
from contextlib import suppress
from typing import Any

from faust.transport.drivers import aiokafka as driver
from faust.transport.producer import ProducerBuffer
from faust.types.tuples import FutureMessage

#: How long one wait for the next record to go out lasts before the buffer is looked at again.
RECHECK_S = 1.0


class DrainingBuffer(ProducerBuffer):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.put_total = 0  # records put in the buffer so far
        self.sent_total = 0  # of them, handed to the Kafka client (in the order put)

    def put(self, fut: FutureMessage) -> None:
        super().put(fut)
        self.put_total += 1

    async def _send_pending(self, fut: FutureMessage) -> None:
        await super()._send_pending(fut)
        self.sent_total += 1

    async def flush(self) -> None:
        """Wait until every record put in the buffer before this call is with the client."""
        target = self.put_total
        while self.sent_total < target and not self.should_stop:
            self.message_sent.clear()
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.message_sent.wait(), timeout=RECHECK_S)
        if self.should_stop:
            await super().flush()  # records left in a stopped buffer: Faust's error


class DrainingProducer(driver.Producer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.buffer = DrainingBuffer(loop=self.loop, beacon=self.beacon)
        self.buffer.app = self.app
