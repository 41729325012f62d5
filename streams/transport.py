"""The worker's Kafka transport: Faust's aiokafka driver, with a consumer that delivers whole
batches (streams/batch_delivery.py) and a producer whose flush drains its buffer before an
offset commit (streams/draining_producer.py)."""

from typing import Any, ClassVar

from faust.transport.drivers import aiokafka as driver

from streams.batch_delivery import BatchDeliveryConsumer
from streams.draining_producer import DrainingProducer


class WorkerTransport(driver.Transport):
    Consumer: ClassVar[Any] = BatchDeliveryConsumer
    Producer: ClassVar[Any] = DrainingProducer
