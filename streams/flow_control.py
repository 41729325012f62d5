"""Faust's flow control, with what a rebalance throws out of the agents' buffers abandoned.

A rebalance (and a stop) empties every agent's buffer: the events there are never processed
by their agent, and their partition's next owner reads them again from the committed offset.
Faust then waits until every message delivered is acked or freed (its consumer's
``wait_empty``), counting on the emptied buffers to drop the last references to them. But a
message that several agents read is still referenced by the agents that took it before the
rebalance: when three agents read the results topic (it is read without agents now,
streams/batch_delivery.py), a status batch or an idle agent's loop variable held it, it was
neither acked nor freed, and the revoke waited for it for good.

So each message thrown out is abandoned (streams/safe_offsets.py): never counted for a
commit, and no longer waited for.
"""

from faust.types import EventT
from mode.utils.queues import FlowControlEvent

from streams.batching import abandon


class AbandoningFlowControl(FlowControlEvent):
    def clear(self) -> None:
        for buffer in self._queues:
            abandon(item for item in buffer._queue if isinstance(item, EventT))  # type: ignore[attr-defined]
        super().clear()
