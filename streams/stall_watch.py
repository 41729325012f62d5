"""Partitions that hold records but deliver nothing are sought back: a faust-streaming bug.

A restarted worker sometimes never delivers some of its partitions again: the records are on
the broker, the agent is idle, and nothing is logged (README, "Known problem"; it looks like
faust-streaming#629, and a minimal Faust app does it too). For tmc-recovery that stalls a
stage for good: triage stops deciding, or the status projection never catches up, so the
worker never resumes its recoveries.

So every ``stall_check_s`` the watch compares, per stream partition this worker owns, the
offset Faust will hand to the agents next with the topic's end. A partition with records
waiting, while its topic's agents have nothing in hand, that makes no progress for
``stall_after_s`` is stalled. The watch logs what Faust's consumer holds for it (so the bug
can be traced), counts it, and seeks the partition to its next undelivered offset, which
restarts its fetch; nothing is skipped and nothing is delivered twice. One that makes no
progress while its topic's agents do hold messages is logged, with what they hold: a slow
agent, or messages Faust handed out that no agent is processing (seen in CI). No agent of
ours holds one for long, so held ``HOLDS_BEFORE_SEEK`` rounds in a row it is sought back too,
to the lowest offset held; what comes twice is idempotent at every stage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from faust.sensors import Sensor
from faust.types import TP, AppT, Message
from prometheus_client import CollectorRegistry, Counter

from streams.safe_offsets import seek_in_consumer_thread
from streams.status.offset_probe import OffsetProbe, Span

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Position:
    """Where one partition stands: the next offset Faust delivers, and where the topic ends
    (past the last record an agent can get: under exactly-once the final commit marker is
    never delivered); ``busy`` while its topic's agents hold or queue messages, and
    ``held_from``: the lowest offset of this partition they hold."""

    next_offset: int
    end: int
    busy: bool
    held_from: int | None = None

    @property
    def waiting(self) -> bool:
        return self.next_offset < self.end

    @property
    def seek_to(self) -> int:
        """Where a seek restarts delivery: at what is held but never acked, if anything."""
        return self.next_offset if self.held_from is None else min(self.held_from, self.next_offset)


@dataclass(slots=True)
class _Since:
    next_offset: int
    at: float  # waiting at this offset since
    idle_at: float | None  # ... with its topic's agents holding nothing, since
    holds: int = 0  # holds reported in a row


@dataclass(slots=True)
class Verdict:
    """``stalled``: no progress, nothing in hand: seek. ``held``: no progress while its
    topic's agents hold messages: a slow or blocked agent, only reported, since seeking
    would deliver what is in hand twice; held ``HOLDS_BEFORE_SEEK`` times in a row, it is
    stalled after all."""

    stalled: list[TP]
    held: list[TP]


#: No agent of ours holds a message for minutes (each waits at most for the catch-up, which
#: heals itself), so a partition held this many rounds is a stall: in CI, Faust kept messages
#: that no agent was processing, and their topic looked busy for good.
HOLDS_BEFORE_SEEK = 3


class StallDetector:
    """The pure rule: records waiting and no progress for ``stall_after_s``; a stall when
    its topic's agents had nothing in hand all that time, else a hold."""

    def __init__(self, stall_after_s: float) -> None:
        self.stall_after_s = stall_after_s
        self._since: dict[TP, _Since] = {}

    def observe(self, now: float, positions: Mapping[TP, Position]) -> Verdict:
        """The partitions stalled or held as of ``now``; each is reported once per
        ``stall_after_s``."""
        verdict = Verdict([], [])
        after = self.stall_after_s
        for tp, position in positions.items():
            since = self._since.get(tp)
            if since is None or since.next_offset != position.next_offset or not position.waiting:
                since = self._since[tp] = _Since(position.next_offset, now, None)
            if position.busy:
                since.idle_at = None
            elif since.idle_at is None:
                since.idle_at = now
            if not position.waiting:
                continue
            if since.idle_at is not None and now - since.idle_at >= after:
                verdict.stalled.append(tp)
                self._since[tp] = _Since(position.next_offset, now, now)
            elif position.busy and now - since.at >= after:
                since.at, since.holds = now, since.holds + 1
                if since.holds < HOLDS_BEFORE_SEEK:
                    verdict.held.append(tp)
                else:
                    verdict.stalled.append(tp)
                    since.holds = 0
        for gone in self._since.keys() - positions.keys():
            del self._since[gone]
        return verdict

    def reset(self) -> None:
        """A rebalance or a table recovery: what was measured before says nothing now."""
        self._since.clear()


class TakenOffsets(Sensor):
    """The last offset an agent took from each partition since the last rebalance."""

    def __init__(self) -> None:
        super().__init__()
        self.last: dict[TP, int] = {}

    def on_message_in(self, tp: TP, offset: int, message: Message) -> None:
        self.last[tp] = offset

    def on_rebalance_start(self, app: AppT) -> dict[str, Any]:
        self.last.clear()
        return super().on_rebalance_start(app)


class StallWatch:
    """Measures the owned stream partitions, and seeks the stalled ones back."""

    def __init__(
        self,
        app: AppT,
        probe: OffsetProbe,
        stall_after_s: float,
        exactly_once: bool,
        clock: Callable[[], float],
        registry: CollectorRegistry,
    ) -> None:
        self._app = app
        self._probe = probe
        self._marker = 1 if exactly_once else 0
        self._clock = clock
        self.detector = StallDetector(stall_after_s)
        self.taken = TakenOffsets()
        app.sensors.add(self.taken)
        self._stalls = Counter(
            "tmc_partition_stalls_total",
            "Stream partitions that held records but delivered none, and were sought back.",
            ["topic"],
            registry=registry,
        )

    async def tick(self) -> None:
        """The timer's round; a broker that cannot answer now is asked again next round."""
        try:
            await self.check()
        except KafkaError as exc:
            log.warning("stall watch: measuring the stream partitions failed (%s)", exc)

    async def check(self) -> list[TP]:
        """One round: measure, decide, report the held partitions and seek the stalled
        ones back (returned)."""
        app, consumer = self._app, cast(Any, self._app.consumer)
        if app.rebalancing or app.in_recovery or not consumer.flow_active:
            self.detector.reset()
            return []
        changelogs = set(app.tables.changelog_topics)
        tps = {tp for tp in consumer.assignment() if tp.topic not in changelogs}
        if not tps:
            return []
        spans = await self._probe.spans(TopicPartition(tp.topic, tp.partition) for tp in tps)
        if app.rebalancing or app.in_recovery:  # it began while the broker answered
            self.detector.reset()
            return []
        held = in_hand(consumer)
        busy = {tp.topic for tp in held}
        positions = {tp: self._position(tp, spans[tp], busy, held.get(tp)) for tp in tps}
        verdict = self.detector.observe(self._clock(), positions)
        for tp in verdict.held:
            log.warning(
                "partition %s:%d: %d records waiting from offset %d, none taken for %.0f s "
                "while its topic's agents hold %s; not sought yet (%s)",
                tp.topic, tp.partition, positions[tp].end - positions[tp].next_offset,
                positions[tp].next_offset, self.detector.stall_after_s,
                describe_held(held, tp.topic), consumer_view(consumer, tp),
            )  # fmt: skip
        for tp in verdict.stalled:
            await self._unstall(consumer, tp, positions[tp])
        return verdict.stalled

    def _position(self, tp: TP, span: Span, busy: set[str], held: list[int] | None) -> Position:
        """Next to deliver: after the last offset taken, else where the group committed
        (Faust sought there at assignment), else the partition's first offset."""
        taken = self.taken.last.get(tp)
        if taken is not None:
            next_offset = taken + 1
        elif span.committed is not None and span.committed >= 0:
            next_offset = span.committed
        else:
            next_offset = span.start
        end = max(span.end - self._marker, span.start)
        return Position(next_offset, end, tp.topic in busy, min(held) if held else None)

    async def _unstall(self, consumer: Any, tp: TP, position: Position) -> None:
        waiting, after_s = position.end - position.next_offset, self.detector.stall_after_s
        why = f"stalled: {waiting} records waiting, none delivered for {after_s:.0f} s"
        await self.seek_back(tp, position.seek_to, why)

    async def seek_back(self, tp: TP, offset: int, why: str) -> None:
        """Restart ``tp``'s fetch at ``offset`` (the first one no agent has finished);
        logged with ``why`` and what Faust's consumer held, and counted."""
        consumer = cast(Any, self._app.consumer)
        log.warning(
            "partition %s:%d %s; seeking back to offset %d (%s)",
            tp.topic, tp.partition, why, offset, consumer_view(consumer, tp),
        )  # fmt: skip
        self._stalls.labels(tp.topic).inc()
        active = consumer._active_partitions or set()
        if tp not in active and tp not in consumer._paused_partitions:
            consumer.resume_partitions({tp})  # assigned and not paused, yet never fetched
        await seek_in_consumer_thread(consumer, tp, offset)


def consumer_view(consumer: Any, tp: TP) -> str:
    """What Faust's consumer holds for ``tp``, for a log line that lets the bug be traced."""
    active = consumer._active_partitions or set()
    return (
        f"active {tp in active}, paused {tp in consumer._paused_partitions}, "
        f"buffered {tp in consumer._buffered_partitions}, "
        f"read offset {consumer._read_offset.get(tp)}, "
        f"committed {consumer._committed_offset.get(tp)}"
    )


def in_hand(consumer: Any) -> dict[TP, list[int]]:
    """Per partition, the offsets Faust has handed to agents and not seen acked (its own
    bookkeeping). A message below the committed offset is left out: the group is past it,
    and no agent will ack it."""
    committed = consumer._committed_offset
    held: dict[TP, list[int]] = {}
    for message in list(consumer._unacked_messages):
        past = committed.get(message.tp)
        if past is None or message.offset >= past:
            held.setdefault(message.tp, []).append(message.offset)
    return held


def describe_held(held: dict[TP, list[int]], topic: str) -> str:
    """How many messages of ``topic`` are held per partition, and from which offset."""
    return ", ".join(
        f"{len(offsets)} of partition {tp.partition} from offset {min(offsets)}"
        for tp, offsets in sorted(held.items())
        if tp.topic == topic
    )
