"""The worker's Kafka transport: Faust's aiokafka driver, with a consumer that delivers whole
batches, and the ingest topics' records straight to their handlers
(streams/batch_delivery.py), and a producer whose flush drains its buffer before an offset
commit (streams/draining_producer.py)."""

from typing import Any, ClassVar

from faust.transport.drivers import aiokafka as driver

from streams.batch_delivery import BatchDeliveryConsumer, DirectRoutes
from streams.draining_producer import DrainingProducer


class WorkerTransport(driver.Transport):
    Consumer: ClassVar[Any] = BatchDeliveryConsumer
    Producer: ClassVar[Any] = DrainingProducer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Topics read without an agent; here because the consumer is made on first use.
        self.direct = DirectRoutes()
