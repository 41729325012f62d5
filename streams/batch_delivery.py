"""Faust's Kafka transport, delivering each fetched batch under one guard instead of one per record.

Faust's consumer hands every fetched record to the conductor through ``Service.wait_first``,
racing it against a rebalance's ``suspend_flow``: four tasks and an ``asyncio.wait`` per
record, about two thirds of the CPU an agent that does nothing spends per record
(``python -m bench.faust_floor``). Here one such race guards a whole fetched batch.
What a rebalance needs is kept record by record: delivery stops at the first record
after the flow stops or the group's generation moves on, and a record before the partition's
read offset (a re-fetch after a seek) is skipped, exactly as Faust does it.

A stream record (tables' changelogs are read before the seek, to restore them) of a partition
not sought since its assignment is skipped too. Faust resumes the flow before its seek to the
committed offsets, and a partition the worker kept goes on from where its fetch stood, past
records the last generation read but never processed. Triaged then, those later records went
before the earlier ones, which the seek brings back next; but a claim counts its partition's
records in order (its offsets), so it took the earlier ones for counted already. The churn
test lost two errors so, with 16-event agent buffers (debug log: the new generation triaged
offsets 376-512, then the seek went back to 358, and 374-375 were never counted). Where the
partition has no committed offset (or 0) the seek does not move its fetch, so it is sought back
to the first record held back (the crash-storm test lost a first worker's whole first wave
without that: the next worker held it back, and the seek found nothing to do).

A record may also wait at a gate the pipeline sets (``gate``): the ingest topics' records wait
until their partition's results have caught up (streams/status/catchup.py). Triage reads the
status table for a redelivered error, and waited for the catch-up inside the ingest agent;
with a backlog, the errors delivered behind that one filled the agent's buffer, the delivery
blocked on it, and the results records the catch-up needed were never delivered: the
crash-storm loop caught a worker that never became ready so. A partition's records held at the
gate are read again from the first of them once the gates open (``open_gates``), so it keeps
its order.

The ingest topics' records skip Faust's agents altogether (``DirectRoutes``): each goes from
the fetched batch straight to its handler, tracked for acking as a stream tracks it. Faust's
way is an event per record, handed through the conductor, a queue with flow control and the
agent's stream: 12% of a 200,000-error storm's worker CPU, for records whose handler only
decides them against memory. The results topic's records skip them too: three stages read
each (triage's endings, status, events), which as agents cost three events, three queues and
three streams per record, for the record a new recovery brings three of. The delivery is
cancelled when a rebalance begins, as Faust's is, so a handler never blocks it for good; what
must not stop half-way shields itself.

A batch in hand must never outlive a seek. A seek moves the partitions back to their
committed offsets and resets the read offsets; a record fetched before it and delivered after
it sits past the new read offset, and Faust acks the "gap" in between as if compaction had
emptied it: the records there, read before the rebalance but not yet processed, are lost
(``test_workers_joining_and_leaving_mid_storm_lose_no_error`` lost about 1% of a storm so;
streams/safe_offsets.py now reads such a jump again first, for the cases the lock cannot see).
Faust's own per-record delivery leaves the same window open, only narrower. So a seek here
waits until no batch is being fetched or delivered, and a read that finds the flow stopped
(a rebalance's seek comes before it resumes) waits outside that exclusion.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.consumer.fetcher import Fetcher
from faust import Event
from faust.transport.drivers import aiokafka as driver
from faust.types import TP, EventT, Message, TopicT
from mode import ServiceT

from streams.safe_offsets import SafeOffsetsConsumer, seek_in_consumer_thread

#: Records delivered between two yields to the event loop, as Faust does.
YIELD_EVERY = 100
#: The longest one fetch waits for records. Faust takes a partition out of its fetches while
#: an agent's buffer is nearly full, and back once it drains; a fetch already waiting goes
#: on without it. At Faust's 1 s, a storm's reading stalled for most of a second each time
#: its ingest buffer filled (0.8 s twice in a 20,000-error storm of about 3 s).
FETCH_WAIT_S = 0.1
#: While fetches bring records, the broker answers the next one once it holds this much for the
#: worker or after ``BUSY_FETCH_WAIT_S`` (``linger_while_busy``).
BUSY_FETCH_MIN_BYTES = 1 << 20
BUSY_FETCH_WAIT_S = 0.02


def linger_while_busy(fetcher: Fetcher) -> None:
    """After a fetch that brought records, the next one waits at the broker for more (up to
    ``BUSY_FETCH_WAIT_S``); after one that brought none, it is answered at the first record.

    Each fetch names every assigned partition (about 150 for one worker here) and its answer
    names them all again, in pure Python, however few records it brings. At 200 new
    recoveries/s the worker spent 4.1-4.3 ms of CPU per error so, 3.0-3.6 ms lingering.
    Lingering always instead (the same wait, idle too) fetched 50 times a second with nothing
    to read: an idle worker took 8-10% of a core, not 3%.

    aiokafka reads both settings as it builds each request; it has no hook for them. They are
    the fetcher's, not a broker's: with several brokers the last answer sets them for the next
    request to each, so a fetch to a quiet broker may wait up to 20 ms for nothing."""
    fetch = fetcher._proc_fetch_request
    idle = (fetcher._fetch_max_wait_ms, fetcher._fetch_min_bytes)
    busy = (int(BUSY_FETCH_WAIT_S * 1000), BUSY_FETCH_MIN_BYTES)

    async def fetch_then_adapt(*args: Any) -> bool:
        brought_records: bool = await fetch(*args)
        fetcher._fetch_max_wait_ms, fetcher._fetch_min_bytes = busy if brought_records else idle
        return brought_records

    fetcher._proc_fetch_request = fetch_then_adapt


class ShortFetchWaitThread(driver.AIOKafkaConsumerThread):
    """Faust's consumer thread, whose fetch requests the broker holds at most
    ``FETCH_WAIT_S`` (Faust asks for 1.5 s) when none of their partitions has new records.

    aiokafka sends one fetch at a time to a broker, and leaves out of it every partition
    whose fetched records are still waiting to be read. Under load, the errors partitions are
    often such, so the fetch asks only for the worker's own topics (requests, results); when
    the worker then catches up, nothing new arrives there, and the broker holds the fetch for
    the whole wait while errors pile up on it. Near full load (about 600 errors/s here) the
    worker idled for a second at a time so, again and again, and never caught up.

    Once started, its fetches also linger while busy (``linger_while_busy``)."""

    def _create_worker_consumer(self, transport: driver.Transport) -> AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = int(FETCH_WAIT_S * 1000)  # read by its start
        return consumer

    async def on_start(self) -> None:
        await super().on_start()
        assert self._consumer is not None
        linger_while_busy(self._consumer._fetcher)


#: What takes a directly delivered record (``DirectRoutes``); it acks the event once done.
Handler = Callable[[EventT[bytes]], Awaitable[None]]


@dataclass
class DirectRoutes:
    """The topics whose records go straight from the fetched batch to their handlers, with
    no Faust agent; registered while the pipeline is wired, before the consumer exists. A
    topic several stages read has a handler for each, called in the order added, with one
    event; the record counts as processed once every handler has acked it."""

    topics: list[TopicT] = field(default_factory=list)
    handlers: dict[str, list[Handler]] = field(default_factory=dict)  # topic name -> them

    def add(self, topic: TopicT, handler: Handler) -> None:
        name = topic.get_topic_name()
        if name not in self.handlers:
            self.topics.append(topic)
        self.handlers.setdefault(name, []).append(handler)


class BatchDeliveryConsumer(SafeOffsetsConsumer):
    _reader: "asyncio.Task[None] | None" = None  # the task fetching and delivering, if any

    def __post_init__(self) -> None:
        super().__post_init__()
        self._batch_in_hand = asyncio.Lock()  # bound to a loop only when first contended
        self._held_back: dict[TP, int] = {}  # the first record held back before the seek
        self.gate: Callable[[TP], bool] = lambda tp: True  # may a record of tp go now?
        self._gated: dict[TP, int] = {}  # the first record held at a closed gate

    def _new_consumer_thread(self) -> ShortFetchWaitThread:
        return ShortFetchWaitThread(self, loop=self.loop, beacon=self.beacon)

    @property
    def _routes(self) -> DirectRoutes:
        routes: DirectRoutes = self.transport.direct  # type: ignore[attr-defined]
        return routes

    async def on_start(self) -> None:
        """Subscribe the direct topics: the consumer starts before the agents, whose start
        the conductor waits for before it subscribes (an agent subscribes its own topic)."""
        for topic in self._routes.topics:
            self.app.topics.add(topic)
        await super().on_start()

    async def seek_to_committed(self) -> dict[TP, int]:
        """The assignment's seek; a partition with no committed offset (or 0) is not moved by
        it, so one whose records were held back is sought to the first of them."""
        committed = await super().seek_to_committed()
        held, self._held_back = self._held_back, {}
        for tp, first in held.items():
            if tp in committed and not committed[tp]:
                await seek_in_consumer_thread(self, tp, first)
        return committed

    async def open_gates(self) -> None:
        """Read the records held at a gate again, from the first of each partition's."""
        async with self._no_batch_in_hand():
            gated, self._gated = self._gated, {}
            for tp, first in gated.items():
                await seek_in_consumer_thread(self, tp, first)

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        for tp in revoked:  # the next assignment's seek reads them again
            self._gated.pop(tp, None)
        await super().on_partitions_revoked(revoked)

    @asynccontextmanager
    async def _no_batch_in_hand(self) -> AsyncIterator[None]:
        """Exclude fetching and delivering; Faust's fetch seeks from inside itself when the
        flow stopped meanwhile, and that seek already holds the exclusion."""
        if asyncio.current_task() is self._reader:
            yield
            return
        async with self._batch_in_hand:
            yield

    async def perform_seek(self) -> None:
        async with self._no_batch_in_hand():
            await super().perform_seek()

    async def seek(self, partition: TP, offset: int) -> None:
        async with self._no_batch_in_hand():
            await super().seek(partition, offset)

    async def _drain_messages(self, fetcher: ServiceT) -> None:
        """Fetch, then deliver the whole batch, until the consumer or the fetcher stops."""
        fetcher_stopped = fetcher._stopped.is_set  # type: ignore[attr-defined]
        try:
            while not (self._stopped.is_set() or fetcher_stopped()):
                await self.sleep(0)  # getmany may return at once, again and again
                if self.should_stop:
                    break
                if not self.flow_active:  # a rebalance: its seek comes before the flow resumes
                    await self.wait(self.can_resume_flow)  # type: ignore[arg-type]
                    continue
                await self._read_one_batch()
        except self.consumer_stopped_errors:
            if not self.transport.app.should_stop:
                raise
            self.log.info("Broker stopped consumer, shutting down...")
        except asyncio.CancelledError:
            if not self.transport.app.should_stop:
                raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise

    async def _read_one_batch(self) -> None:
        """Fetch a batch and deliver it, with no seek in between or during."""
        async with self._batch_in_hand:
            if not self.flow_active:
                return  # stopped while a seek held the exclusion: wait for the flow outside it
            self._reader = asyncio.current_task()
            try:
                batch, generation = await self._fetch()
                if batch:
                    delivery = self._deliver(batch, generation)
                    await self.wait_first(delivery, self.suspend_flow.wait())
            finally:
                self._reader = None

    async def _fetch(self) -> tuple[list[tuple[TP, Message]], int]:
        """One fetch, and the generation it was made in (read once the fetch has returned)."""
        batch = [pair async for pair in self.getmany(timeout=FETCH_WAIT_S)]
        return batch, self.app.consumer_generation_id

    async def _deliver(self, batch: Sequence[tuple[TP, Message]], generation: int) -> None:
        """Hand each record to the conductor while the group is still in ``generation``, the
        fetch's: a rebalance since seeks back, so the rest is fetched again."""
        read_offset, sought, changelog = self._read_offset, self._sought, self._is_changelog_tp
        acks_enabled_for = self.app.topics.acks_enabled_for
        gate, gated = self.gate, self._gated
        direct = self._routes.handlers
        read_again: set[TP] = set()
        for delivered, (tp, message) in enumerate(batch):
            if not self.flow_active or self.app.consumer_generation_id != generation:
                return  # a rebalance began: the rest is fetched again from committed offsets
            if delivered and not delivered % YIELD_EVERY:
                await asyncio.sleep(0)
            if tp not in sought and not changelog(tp) and acks_enabled_for(message.topic):
                self._held_back.setdefault(tp, message.offset)  # read again after the seek
                continue
            if tp in gated or not gate(tp):
                gated.setdefault(tp, message.offset)  # read again once the gates open
                continue
            offset, last = message.offset, read_offset[tp]
            if tp in read_again or (last is not None and offset < last):
                continue
            if last and offset - last > 1 and acks_enabled_for(message.topic):  # noqa: SIM102 (narrows last)
                if not await self.accept_jump(tp, last, offset):
                    read_again.add(tp)  # its records in hand come again
                    continue
            if self._commit_every is not None and self._n_acked >= self._commit_every:
                self._n_acked = 0
                await self.commit()
            handlers = direct.get(tp.topic)
            if handlers is None:
                await self.callback(message)
            else:
                self.track_message(message)
                message.incref(len(handlers))  # each handler's ack takes one away
                event = Event(self.app, message.key, message.value, message.headers, message)
                for handler in handlers:
                    await handler(event)
            read_offset[tp] = offset
