"""A producer flush before an offset commit waits for every buffered table write
(streams/draining_producer.py).

Pure logic: the app's own producer buffer, started alone, with a slow fake channel in place of
the Kafka client. Commits against a real broker are covered by the pipeline tests.
"""

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest
from faust.transport.producer import ProducerBuffer

from streams.app import create_app
from streams.config import ServiceSettings
from streams.draining_producer import DrainingBuffer

#: Longer than the 0.1 s without a record going out after which Faust's own flush gives up.
SLOW_HANDOVER_S = 0.3


class SlowClient:
    """Takes each record ``SLOW_HANDOVER_S`` to accept, as a Kafka client whose own buffer is
    full does, and notes what it accepted."""

    def __init__(self) -> None:
        self.accepted: list[int] = []

    async def publish_message(self, fut: SimpleNamespace, wait: bool) -> None:
        await asyncio.sleep(SLOW_HANDOVER_S)
        self.accepted.append(fut.number)


@pytest.fixture
async def buffer() -> AsyncIterator[DrainingBuffer]:
    made = create_app(ServiceSettings()).producer.buffer
    assert isinstance(made, DrainingBuffer)
    await made.start()
    yield made
    await made.flush()  # a buffer stopped with records in it raises
    await made.stop()


def put_records(buffer: ProducerBuffer, count: int) -> SlowClient:
    client = SlowClient()
    for number in range(count):
        message = SimpleNamespace(channel=client)
        buffer.put(SimpleNamespace(message=message, number=number))  # type: ignore[arg-type]
    return client


async def test_fausts_own_flush_returns_with_records_still_buffered(
    buffer: DrainingBuffer,
) -> None:
    """Why the override exists: if Faust's flush ever waits for the whole buffer, this
    fails, and the override can go."""
    client = put_records(buffer, 3)
    await ProducerBuffer.flush(buffer)
    assert len(client.accepted) < 3


async def test_the_flush_returns_once_every_record_put_before_it_is_with_the_client(
    buffer: DrainingBuffer,
) -> None:
    client = put_records(buffer, 3)
    await asyncio.wait_for(buffer.flush(), 10)
    assert client.accepted == [0, 1, 2]
    assert buffer.size == 0


async def test_a_flush_does_not_wait_for_records_put_after_it_began(
    buffer: DrainingBuffer,
) -> None:
    """Under a storm of table writes the buffer is never empty: a commit that waited for an
    empty buffer would never come."""
    client = put_records(buffer, 2)
    flushing = asyncio.create_task(buffer.flush())
    await asyncio.sleep(0)
    later = put_records(buffer, 3)
    await asyncio.wait_for(flushing, 10)
    assert client.accepted == [0, 1]
    assert len(later.accepted) < 3
