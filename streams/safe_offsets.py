"""The worker's consumer never commits past a record it has not processed.

Faust commits, per partition, the first run of consecutive offsets its streams acked, and it
checks that run against the partition's committed offset. Three of its shortcuts let a commit
pass records never processed; the first lost stretches of the errors topic when a worker joined and
left mid-storm (``test_workers_joining_and_leaving_mid_storm_lose_no_error``, about 1 run in 50):

- **A jump in the offsets read is acked as a gap.** Faust takes a record past the partition's
  read offset for a sign that compaction or transaction markers emptied the offsets between,
  and acks them. After a rebalance the fetch position can run ahead of the read offset the
  rebalance's seek set (records fetched for the partitions resumed just before that seek): the
  log showed gaps of 64-180 records acked on three partitions, right between the two, and those
  errors never reached triage. Here a jump is read again from the read offset first; only when
  the second read jumps the same way are the offsets really empty, and acked. Under exactly-once
  every transaction leaves a marker, so there a jump is acked at once, as Faust does.
- **A partition's commit is unchecked between its revoke and its next seek.** A revoke forgets
  each partition's committed offset, and Faust's check passes anything while it is unknown:
  acks made meanwhile (by the revoke's own wait for the streams, or for records of the new
  generation before its seek) are committed with nothing below them checked (the debug log
  showed such commits during revokes). Here a partition commits only once a seek since its
  assignment has read its committed offset back.
- **Acks outlive the read they belong to.** Faust acks a message its streams skipped because its
  generation was over or the flow had stopped, as if processed, and keeps a partition's acks
  across the seek that follows a rebalance. A run of such acks starting at the committed offset
  passes Faust's check (the churn test lost 29 records so once, with no jump). Here a seek
  starts a partition's acks afresh, since everything from the committed offset is read again,
  and an ack of a message from an older generation is not counted.

A stage that drops a batch begun before a rebalance (its events unacked, read again by their
partitions' next owner) abandons its messages (:meth:`SafeOffsetsConsumer.abandon`): neither
counted nor waited for.
"""

import logging
from typing import Any

from faust.transport.consumer import ensure_TP
from faust.transport.drivers import aiokafka as driver
from faust.types import TP, Message
from mode.utils.futures import notify

log = logging.getLogger(__name__)


class SafeOffsetsConsumer(driver.Consumer):
    def __post_init__(self) -> None:
        super().__post_init__()
        self._sought: set[TP] = set()  # partitions whose committed offset a seek has read
        self._jumped: dict[TP, tuple[int, int]] = {}  # the last jump read again, per partition

    async def seek_to_committed(self) -> dict[TP, int]:
        committed = {
            ensure_TP(tp): offset for tp, offset in (await super().seek_to_committed()).items()
        }
        for tp in committed:  # read again from the committed offset: earlier acks are void
            self._acked.pop(tp, None)
            self._acked_index.pop(tp, None)
            self._gap.pop(tp, None)
        self._sought.update(committed)
        return committed

    def ack(self, message: Message) -> bool:
        generation = message.generation_id
        if generation is None or generation == self.app.consumer_generation_id:
            return super().ack(message)
        self.abandon(message)  # read again since
        return False

    def abandon(self, message: Message) -> None:
        """A message whose processing was dropped, to be read again from the committed
        offset: never counted for a commit, and no longer waited for. A revoke waits until
        every message delivered is acked or gone, and a dropped message the stream still
        holds (its last event, while no other arrives) is neither: the revoke after it
        would wait for good."""
        message.acked = True
        self._unacked_messages.discard(message)
        notify(self._waiting_for_ack)

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        self._sought.difference_update(revoked)
        await super().on_partitions_revoked(revoked)

    def _new_offset(self, tp: TP) -> int | None:
        if tp not in self._sought:
            return None  # its committed offset is not known: nothing can be checked against it
        return super()._new_offset(tp)

    async def accept_jump(self, tp: TP, last: int, offset: int) -> bool:
        """Whether the record at ``offset``, past the read offset ``last``, is delivered with
        the offsets between acked as empty; if not, the partition is read again from ``last``
        and its records in hand are not delivered."""
        if self.in_transaction or self._jumped.get(tp) == (last, offset):
            self._jumped.pop(tp, None)
            await self._add_gap(tp, last + 1, offset)
            return True
        self._jumped[tp] = (last, offset)
        log.warning(
            "partition %s:%d: read jumped from offset %d to %d; reading it again from %d",
            tp.topic, tp.partition, last, offset, last,
        )  # fmt: skip
        await seek_in_consumer_thread(self, tp, last)
        return False


async def seek_in_consumer_thread(consumer: driver.Consumer, tp: TP, offset: int) -> None:
    """What Faust's ``seek`` does, with the aiokafka call made in the thread the client runs
    in. Faust's seek calls it from the app's thread: a seek that dropped a partition's fetched
    records while the consumer thread was draining them crashed the Fetcher (KeyError in
    aiokafka's ``fetched_records``, seen during a million-error fill)."""
    thread: Any = consumer._thread  # its call_thread is typed for coroutines; seek is plain
    await thread.call_thread(thread.seek, tp, offset)
    consumer._read_offset[tp] = offset
