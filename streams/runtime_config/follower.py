"""Every worker's reader of the config topic: each applied configuration, validated and put
in force within a poll, or refused with the configuration in force left as it was.

Why a consumer of its own and not a Faust GlobalTable: the record must be validated (against
this worker's strategies) before anything changes, and a bad one must change nothing, where a
table applies every record it reads; and a global table's standby recovery would hold up the
worker's start for a topic of one key. With no group, every worker is assigned every
partition and reads the topic from its beginning: at start the latest apply, then each new one.
A record is put in force once: reading the topic again (the follow loop after the starting
read, or after a reconnect) skips what was read, so an older apply still awaiting compaction
never comes back into force, even for a moment.
"""

import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.errors import TmcRecoveryError
from streams.config import Tunables
from streams.log_reader import follow, from_start
from streams.runtime_config.record import Applied

log = logging.getLogger(__name__)

#: Puts a configuration in force; raises a TmcRecoveryError (and changes nothing) if it is bad.
Retune = Callable[[Tunables], object]


class ConfigFollower:
    def __init__(
        self, bootstrap: str, topic: str, partitions: int, retune: Retune, poll_ms: int = 500
    ) -> None:
        self._bootstrap, self._retune, self._poll_ms = bootstrap, retune, poll_ms
        self._tps = [TopicPartition(topic, partition) for partition in range(partitions)]
        self.in_force: Applied | None = None  # the latest accepted apply; None: the file's
        self._next: dict[TopicPartition, int] = {}  # per partition, the offset after the last read

    def receive(self, raw: bytes | None) -> bool:
        """Put one record in force; False (logged, nothing changed) when it is refused."""
        if raw is None:
            return False  # a tombstone carries no configuration: the one in force stays
        try:
            applied = Applied.decode(raw)
            self._retune(applied.tunables())
        except TmcRecoveryError as exc:
            log.error("configuration refused, the one in force stays: %s", exc)
            return False
        self.in_force = applied
        log.info("configuration applied by %s at %s is in force", applied.by, applied.at)
        return True

    async def run(self) -> None:
        """Follow the topic while the worker runs (the configuration in force stays while the
        broker cannot be reached)."""
        await follow(self._bootstrap, self._tps, self._poll, "config topic")

    async def read_once(self) -> None:
        """Read the topic up to where it ended when opened (``config show``)."""
        async with from_start(self._bootstrap, self._tps) as (consumer, ends):
            while not all([await consumer.position(tp) >= ends[tp] for tp in self._tps]):
                await self._poll(consumer, ends)

    async def _poll(self, consumer: AIOKafkaConsumer, _ends: dict[TopicPartition, int]) -> None:
        batch = await consumer.getmany(*self._tps, timeout_ms=self._poll_ms)
        for tp, records in batch.items():  # one key: one partition, in order
            for record in records:
                if record.offset >= self._next.get(tp, 0):
                    self._next[tp] = record.offset + 1
                    self.receive(record.value)
