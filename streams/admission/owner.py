"""The admission owner: the one worker that grants starts, fleet-wide.

Every ask goes to the admission topic under one key, so one partition holds them all and
the consumer group gives that partition to exactly one worker: the owner, the single
writer of the grants topic. A count in a shared table would be racy (two workers both
admitting at cap-1); one writer deciding in the order the asks arrived is not.

On takeover (a rebalance, a crash) the new owner reads the grants topic to its end before
its first decision and rebuilds its book from it: grants, the line of waiting recoveries
and the storm all carry over. Asks it had not answered are redelivered to it (their
offsets were not committed), and an ask answered already changes nothing. The storm
window's reports do not carry over: a storm already on stays on, and its cooldown starts
again at the takeover (the safe side).
"""

import asyncio
import logging
import time
from collections.abc import Callable

from faust.types import StreamT

from streams.admission.book import Changes, GrantBook, Rules
from streams.admission.records import ADMISSION_KEY, STORM_KEY, Ask, Grant, Op, Verdict
from streams.admission.storm import StormWindow
from streams.admission.view import GrantView
from streams.config import AdmissionSettings
from streams.context import Shared
from streams.partitioning import partition_for

log = logging.getLogger(__name__)


class AdmissionOwner:
    def __init__(
        self,
        pipeline: Shared,
        view: GrantView,
        rules: Rules,
        settings: AdmissionSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.p, self._view, self._rules, self._settings = pipeline, view, rules, settings
        self._clock = clock
        self.book: GrantBook | None = None
        self._lock = asyncio.Lock()

    def register(self) -> None:
        self.p.app.agent(self.p.topics.admission, name="tmc-admission")(self._serve)
        self.p.app.timer(self._settings.tick_s, name="tmc-admission-tick")(self.tick)

    def revoked(self) -> None:
        """The partition may go to another worker: forget the book, rebuilt on the next ask."""
        self.book = None

    @property
    def waiting(self) -> int:
        return 0 if self.book is None else len(self.book.waiting)

    async def _serve(self, stream: StreamT[bytes]) -> None:
        """Asks in batches (no table is written here, so Faust's take is safe: NOTES.md),
        decided in order and answered with one round of writes per batch: a storm's
        thousands of asks must not wait for one acknowledgement each."""
        batches = stream.take_events(self._settings.batch, within=0.02)  # type: ignore[attr-defined]
        async for events in batches:  # (faust's Stream has take_events; StreamT omits it)
            asks = []
            for event in events:
                try:
                    asks.append((Ask.decode(event.message.value or b""), event.message.offset))
                except (ValueError, KeyError, TypeError) as exc:
                    log.error("admission: undecodable ask at offset %d skipped: %s",
                              event.message.offset, exc)  # fmt: skip
            await self._decide(asks)

    async def _decide(self, asks: list[tuple[Ask, int]]) -> None:
        async with self._lock:
            book = await self._book()
            now = self._clock()
            for ask, _ in asks:
                if not book.knows(ask.key):
                    book.report(ask, now)
            steps = [
                book.ask(ask, seq, now) if ask.op is Op.ASK else book.release(ask.key)
                for ask, seq in asks
            ]
            await self._write(steps)

    async def tick(self) -> None:
        """Storm cooldowns end with no ask arriving, so time is fed in too, by the owner
        only; one that took the partition over builds its book here if no ask came yet."""
        if not self._owns():
            return
        async with self._lock:
            if not self._owns():  # revoked meanwhile
                return
            book = await self._book()
            await self._write([book.tick(self._clock())])

    def _owns(self) -> bool:
        partitions = self.p.settings.topics.partitions
        owned = self.p.owned_partitions(self.p.topics.admission)
        return partition_for(ADMISSION_KEY, partitions) in owned

    async def _book(self) -> GrantBook:
        if self.book is None:
            await self._view.caught_up()
            settings = self._settings
            window = StormWindow(
                self._rules.inventory, settings.storm_threshold, settings.storm_window_s,
                settings.storm_cooldown_s,
            )  # fmt: skip
            if self._view.storm_on:
                window.on_since = self._clock()
            book = GrantBook(self._rules, window)
            for grant in self._view.grants.values():
                book.seed(grant)
            log.info("admission: owner now; %d granted, %d waiting, storm %s",
                     len(book.granted), len(book.waiting), self._view.storm_on)  # fmt: skip
            self.book = book
        return self.book

    async def _write(self, steps: list[Changes]) -> None:
        """The steps' records, only the last per key (what compaction keeps), sent at once."""
        latest: dict[str, bytes | None] = {}
        for changes in steps:
            if changes.storm is not None:
                log.warning("admission: %s", changes.storm.reason)
                latest[STORM_KEY] = changes.storm.encode()
            for grant in changes.grants:
                self._count(grant)
                latest[grant.ask.key] = grant.encode()
            for key in changes.released:
                latest[key] = None
        send, topic = self.p.out_of_band.send, self.p.topics.grants
        await asyncio.gather(*(send(topic, key.encode(), value) for key, value in latest.items()))

    def _count(self, grant: Grant) -> None:
        metrics = self.p.metrics
        if grant.verdict is Verdict.GRANTED:
            metrics.admission_grants.inc()
        else:
            metrics.admission_denials.labels(_why(grant)).inc()


def _why(grant: Grant) -> str:
    """A reason code for the denials counter (no cluster or recovery in labels)."""
    if grant.verdict is Verdict.ESCALATE or grant.reason.startswith("storm"):
        return "storm"
    return "logical_cluster_cap" if grant.reason.startswith("logical") else "fleet_cap"
