"""Every worker's copy of the silences, read from the silences topic by a consumer of its own
(as streams/control/view.py reads the switches: every worker needs every silence, so no Faust
table, whose partitions are split among the workers). A new silence reaches every worker within
one poll (``poll_ms``).

Until the topic has been read to its end once the view is not loaded (``loaded``): a worker
restarted during a silence must not start what it silences. So the view is followed by a
service started before the Faust app (``SilencesFirst``, in streams/pipeline.py's run), and the
worker joins its group only once the view is loaded. Triage does not wait for it inside its
agent: an agent that blocked on its first record while the fetcher went on had a whole range of
records skipped, their offsets committed, and every merge in them lost (test_crash_storm).
"""

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from mode import Service

from schemas.codec import DecodeError, RecordCodec
from schemas.records import Silence
from streams.log_reader import follow
from streams.silences.state import SilenceSet

log = logging.getLogger(__name__)


class SilenceView:
    def __init__(self, bootstrap: str, topic: str, partitions: int, poll_ms: int = 500) -> None:
        """``partitions``: the topic's count (every topic of the plan shares it)."""
        self._bootstrap, self._poll_ms = bootstrap, poll_ms
        self._tps = [TopicPartition(topic, partition) for partition in range(partitions)]
        self.codec = RecordCodec(Silence)
        self.state = SilenceSet()
        self.loaded = asyncio.Event()

    async def run(self) -> None:
        """Read the topic for as long as the worker runs (its task is cancelled at stop); an
        unreachable broker is retried with backoff (streams/log_reader.follow)."""
        await follow(self._bootstrap, self._tps, self._poll, "silences topic")

    async def _poll(self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> None:
        if not self.loaded.is_set() and await self._read_to(consumer, ends):
            # Nothing (more) to read: loaded now, not after a poll waited for records (each
            # worker start waited one, up to ``poll_ms``, on an empty topic).
            self.apply([], loaded=True)
            return
        batch = await consumer.getmany(*self._tps, timeout_ms=self._poll_ms)
        changes = [(r.key.decode(), r.value) for rs in batch.values() for r in rs]
        if changes or not self.loaded.is_set():
            self.apply(changes, await self._read_to(consumer, ends))

    async def _read_to(self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
        return all([await consumer.position(tp) >= ends[tp] for tp in self._tps])

    def apply(self, changes: Sequence[tuple[str, bytes | None]], loaded: bool) -> None:
        """Apply records (key, value; None a tombstone) in order; ``loaded``: the topic has
        been read to its end once. A record this worker cannot decode is logged and skipped."""
        for key, raw in changes:
            try:
                silence = None if raw is None else self.codec.decode(raw)
            except DecodeError as exc:
                log.warning("skipping silence %r: %s", key, exc)
                continue
            self.state = self.state.apply(key, silence)
            log.info("silence %s %s", key, "removed" if silence is None else "set")
        if loaded:
            self.loaded.set()


class SilencesFirst(Service):
    """Follows the silences from before the Faust app starts, and finishes starting only once
    they are loaded, so the worker joins its group knowing every silence in force."""

    #: How often a worker still waiting for the silences topic says so.
    WARN_EVERY_S = 30.0

    def __init__(self, view: SilenceView) -> None:
        super().__init__()
        self.view = view

    async def on_start(self) -> None:
        self.add_future(self.view.run())
        while True:
            try:
                await asyncio.wait_for(self.view.loaded.wait(), self.WARN_EVERY_S)
                return
            except TimeoutError:
                log.warning(
                    "the silences topic is not read yet: the worker joins its group once it is"
                )
