"""Every worker's copy of the switches, read from the control topic by a consumer of its own.

Why not a Faust table: a table is partitioned among the workers, and every worker must see
every switch. A group-less consumer assigned every partition of the small compacted topic
reads all of it, from the beginning at start and then as records come, so a flip reaches
every worker within one poll (``poll_ms``).

Until the topic has been read to its end once, the view is not loaded and every attempt
waits (``until_may_act``): a worker restarted during a pause must not act before it knows.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.control.state import ControlState, Gate, Switch
from streams.log_reader import follow

log = logging.getLogger(__name__)

OnHold = Callable[[Switch], Awaitable[None]]


class ControlView:
    def __init__(self, bootstrap: str, topic: str, partitions: int, poll_ms: int = 500) -> None:
        """``partitions``: the topic's count (every topic of the plan shares it)."""
        self._bootstrap, self._poll_ms = bootstrap, poll_ms
        self._tps = [TopicPartition(topic, partition) for partition in range(partitions)]
        self.state = ControlState()
        self._changed = asyncio.Condition()
        self._loaded = False

    async def until_may_act(self, strategy: str, on_hold: OnHold) -> Gate:
        """ACT or SHADOW once ``strategy`` may run; while the fleet is paused, calls
        ``on_hold`` with the pause once (to record the hold), then waits for the resume."""
        held = False
        while True:
            async with self._changed:
                gate = self.state.gate(strategy) if self._loaded else None
                if gate is not None and gate is not Gate.HOLD:
                    return gate
                pause = self.state.pause
                if gate is None or held or pause is None:
                    await self._changed.wait()
                    continue
            held = True
            await on_hold(pause)  # outside the lock: it publishes, and flips must not wait

    async def run(self) -> None:
        """Read the topic for as long as the worker runs (its task is cancelled at stop).
        A broker that cannot be reached is tried again, with backoff, never a crash: until
        the switches are read the worker acts on nothing, which is the safe side."""
        await follow(self._bootstrap, self._tps, self._poll, "control topic")

    async def _poll(self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> None:
        batch = await consumer.getmany(*self._tps, timeout_ms=self._poll_ms)
        changes = [(r.key.decode(), r.value) for rs in batch.values() for r in rs]
        if changes or not self._loaded:
            loaded = all([await consumer.position(tp) >= ends[tp] for tp in self._tps])
            await self.apply(changes, loaded)

    async def apply(self, changes: Sequence[tuple[str, bytes | None]], loaded: bool) -> None:
        """Apply records (key, value; None a tombstone) in order; ``loaded``: the topic has
        been read to its end once. Waiting attempts look again."""
        async with self._changed:
            for key, raw in changes:
                self.state = self.state.apply(key, raw)
            if changes:
                log.info("control switches now %s", self.state.view())
            self._loaded = self._loaded or loaded
            self._changed.notify_all()
