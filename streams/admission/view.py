"""Every worker's copy of the grants topic, read by a consumer of its own (no group).

The executors wait here for their recovery's answer; the owner, when it takes over, reads
it to the end before deciding anything (``caught_up``), so its book starts from every
answer the previous owner gave. Until the topic has been read to its end once, nothing is
granted: a restarted worker must not act before it knows whether a storm is on."""

import asyncio
from collections import defaultdict
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.admission.records import STORM_KEY, Grant, Storm
from streams.log_reader import follow


class GrantView:
    def __init__(self, bootstrap: str, topic: str, partitions: int, poll_ms: int = 200) -> None:
        self._bootstrap, self._poll_ms = bootstrap, poll_ms
        self._tps = [TopicPartition(topic, partition) for partition in range(partitions)]
        self.grants: dict[str, Grant] = {}
        self.storm: Storm | None = None
        self.loaded = False
        self._watchers: dict[str, list[asyncio.Future[None]]] = defaultdict(list)
        self._catching_up: list[asyncio.Future[None]] = []

    def next_change(self, key: str) -> "asyncio.Future[None]":
        """Done when ``key``'s record, the storm or the loading changes: taken before reading
        the state, so no change is missed. Per key, because a storm's thousands of waiting
        recoveries must not all wake for each answer (one condition made that quadratic)."""
        future = asyncio.get_running_loop().create_future()
        self._watchers[key].append(future)
        return future

    @property
    def storm_on(self) -> bool:
        return self.storm is not None and self.storm.on

    async def caught_up(self) -> None:
        """Returns once every record written before the call has been read."""
        done = asyncio.get_running_loop().create_future()
        self._catching_up.append(done)
        await done

    async def run(self) -> None:
        await follow(self._bootstrap, self._tps, self._poll, "grants topic")

    async def _poll(self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> None:
        waiters, self._catching_up = self._catching_up, []
        if waiters:
            ends = await consumer.end_offsets(self._tps)
        while True:
            batch = await consumer.getmany(*self._tps, timeout_ms=self._poll_ms)
            changes = [(r.key.decode(), r.value) for rs in batch.values() for r in rs]
            reached = all([await consumer.position(tp) >= ends[tp] for tp in self._tps])
            if changes or not self.loaded:
                await self.apply(changes, reached)
            if reached or not waiters:
                break
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def apply(self, changes: Sequence[tuple[str, bytes | None]], loaded: bool) -> None:
        """Records in order (None: a tombstone, the grant was released); their watchers wake,
        and every watcher when the storm or the loading changes."""
        touched = set()
        everyone = loaded and not self.loaded
        for key, raw in changes:
            if key == STORM_KEY:
                self.storm = None if raw is None else Storm.decode(raw)
                everyone = True
            elif raw is None:
                self.grants.pop(key, None)
            else:
                self.grants[key] = Grant.decode(raw)
            touched.add(key)
        self.loaded = self.loaded or loaded
        for key in list(self._watchers) if everyone else touched:
            for future in self._watchers.pop(key, []):
                if not future.done():
                    future.set_result(None)
