"""What a rebalance throws out of the agents' buffers is abandoned (streams/flow_control.py).

Pure logic: the app's own consumer and flow control, never started; a buffer made as Faust
makes an agent's, and an event another agent still holds, as the results topic's three agents
do.
"""

import asyncio

from faust import Event
from faust.types import TP, Message

from streams.app import create_app
from streams.batch_delivery import BatchDeliveryConsumer
from streams.config import ServiceSettings

RESULTS = TP("tmc.results", 0)


async def test_a_message_thrown_out_of_a_buffer_is_not_waited_for_nor_counted() -> None:
    app = create_app(ServiceSettings())
    consumer = app.consumer
    assert isinstance(consumer, BatchDeliveryConsumer)
    buffer = app.FlowControlQueue(maxsize=10, clear_on_resume=True)  # a second agent's
    message = Message(RESULTS.topic, 0, 7, 0.0, 0, [], b"k", b"v", None, tp=RESULTS)
    consumer.track_message(message)  # the first agent took it, and holds it still
    held = Event(app, b"k", b"v", [], message)
    buffer.put_nowait(held)
    app.flow_control.suspend()
    app.flow_control.clear()  # the revoke's own steps before it waits

    assert buffer.empty()
    waiting = asyncio.ensure_future(consumer.wait_empty())
    done, _ = await asyncio.wait({waiting}, timeout=5)
    if not done:
        consumer._stopped.set()  # ends the wait within a second, so the test can fail
        await waiting
    assert done, "the revoke waited for a message no agent will process"
    assert not consumer._acked[RESULTS], "it is read again, not committed"
    assert held.message is message
