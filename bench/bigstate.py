"""A worker holding the issue's big state: 1,000,000 dedup entries and 100,000 status rows.

Shared by bench.restart (its big-state case) and bench.footprint. The state is made the
honest way, through the real pipeline: ``entries`` errors, each with its own event id (one
dedup entry each), go to a real ``tmc-recovery worker`` on the errors topic, ``entries /
targets`` in a row for each of ``targets`` (cluster, operation) pairs over ``clusters``
clusters. bench/noop_plugin.py's strategy targets the operation and completes at once, so the
first error of a target starts its recovery (one status row) and the others merge into it.
Why not write the changelogs directly (much faster)? Because what the tables hold after a
storm is what is measured, and it is not what a writer in the benchmark would guess: with the
1M fill each seen row held about 10 event ids (101,348 rows), not the 1,000 a batch may hold,
and the four changelogs held 992,811 records for 302,348 rows (every transition and merge a
record). A synthetic writer would also have to copy triage's and status's logic and keep up
with their formats. The price is time: on 2 shared cores the 1M fill took 50 minutes (330
errors/s; recoveries of the do-nothing strategy complete at 30-60/s and bound it), so
``--entries 100000 --status-rows 10000`` is the quick run (about 4 minutes).

The worker keeps event ids and claims for a day (``event_id_ttl_s``, ``cooldown_s``), so
nothing expires while the benchmark runs and every target keeps one claim: the dedup tables
hold ``entries`` event ids and ``targets`` claims when it measures.
"""

import argparse
import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.topicwatch import TopicWatch
from schemas.records import RecoveryState, TMCError
from streams.testing.harness import ERRORS, RESULTS, PipelineEnv, WorkerProcess, unreachable
from streams.topology import TABLE, TOPOLOGY
from streams.triage.rows import decode_seen

DAY_S = 86_400.0
DEDUP_TABLES = ("seen", "targets")  # streams/triage/dedup.py
REPLAY_LINE = re.compile(r"(\d+) of (\d+) changelog records to replay")


@dataclass(frozen=True)
class Shape:
    """How much state: event ids remembered, recoveries (status rows), clusters they span."""

    entries: int = 1_000_000
    targets: int = 100_000
    clusters: int = 1_000

    def errors(self) -> Iterator[TMCError]:
        """``entries`` errors, each target's in a row (so its repeats merge at once)."""
        template = unreachable("fill-0")
        for i in range(self.entries):
            target = i * self.targets // self.entries
            yield replace(
                template,
                event_id=str(uuid.uuid4()),
                cluster_name=f"fill-{target % self.clusters}",
                operation=f"op-{target // self.clusters}",
            )


def add_shape_arguments(parser: argparse.ArgumentParser, which: str = "") -> None:
    """``--entries``, ``--status-rows``, ``--clusters``: the issue's shape unless told."""
    shape = Shape()
    parser.add_argument(
        "--entries", type=int, default=shape.entries,
        help=f"{which}dedup entries: errors, each with its own event id",
    )  # fmt: skip
    parser.add_argument(
        "--status-rows", type=int, default=shape.targets,
        help=f"{which}recoveries: targets the errors spread over",
    )  # fmt: skip
    parser.add_argument("--clusters", type=int, default=shape.clusters, help=f"{which}clusters")


def shape_of(args: argparse.Namespace) -> Shape:
    return Shape(args.entries, args.status_rows, args.clusters)


def overrides(store: str, data_dir: Path) -> dict[str, Any]:
    """Worker config for holding the state: nothing expires during the run, and no error
    turns stale in the fill's backlog (the do-nothing strategy cannot re-verify a fault, so a
    stale error would escalate instead of completing); recoveries run side by side (they do
    nothing, so a small bound would only make the fill slow)."""
    return {
        "store": store,
        "data_dir": str(data_dir),
        "dedup": {"event_id_ttl_s": DAY_S, "cooldown_s": DAY_S},
        "execution": {"max_concurrent": 100, "stale_after_s": DAY_S},
    }


def changelog(env: PipelineEnv, table: str) -> str:
    return str(env.topics[TOPOLOGY.table(table).setting])


def tables() -> list[str]:
    """Every Faust table's name (each is its changelog's topology entry)."""
    return [entry.name for entry in TOPOLOGY.entries if entry.kind is TABLE]


# --- filling -----------------------------------------------------------------------------


class Completions(TopicWatch):
    """The recovery ids that reached Completed on the results topic."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        super().__init__(bootstrap, topic, partitions)
        self.ids: set[str] = set()

    def on_record(self, value: bytes, now: float) -> None:
        result = RESULTS.decode(value)
        if result.state is RecoveryState.COMPLETED:
            self.ids.add(result.id)


async def produce(bootstrap: str, topic: str, errors: Iterable[TMCError]) -> int:
    """Produce as the emitter would (murmur2 by cluster), a chunk at a time."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, acks="all")
    await producer.start()
    sent = 0
    try:
        it = iter(errors)
        while chunk := list(islice(it, 5000)):
            futures = [
                await producer.send(topic, ERRORS.encode(e), key=e.kafka_key()) for e in chunk
            ]
            await asyncio.gather(*futures)
            sent += len(chunk)
    finally:
        await producer.stop()
    return sent


async def backlog(bootstrap: str, group: str, topic: str, partitions: int) -> int:
    """Records that ``group`` has not committed yet: of ``topic``, and of every other topic
    it consumes (results and merges: the status table is only filled once they are)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        done = {
            tp: meta.offset for tp, meta in (await admin.list_consumer_group_offsets(group)).items()
        }
        tps = {TopicPartition(topic, p) for p in range(partitions)} | set(done)
        ends = await consumer.end_offsets(list(tps))
        return sum(end - max(done.get(tp, 0), 0) for tp, end in ends.items())
    finally:
        await consumer.stop()
        await admin.close()


@dataclass(frozen=True)
class Fill:
    seconds: float
    errors: int
    recoveries: int

    @property
    def rate(self) -> float:
        return self.errors / self.seconds


async def fill(env: PipelineEnv, worker: WorkerProcess, shape: Shape, stall_s: float = 300) -> Fill:
    """Emit the shape's errors to a ready worker; return once it has committed all of them
    and completed every target's recovery. Fails when nothing moves for ``stall_s``."""
    topic, group = env.topics["errors"], f"{env.prefix}-group"
    async with Completions(env.bootstrap, env.topics["results"], env.partitions) as done:
        started = moved_at = printed_at = time.monotonic()
        producing = asyncio.create_task(produce(env.bootstrap, topic, shape.errors()))
        last: tuple[int, int] | None = None
        while True:
            await asyncio.sleep(2)
            if producing.done():
                producing.result()  # raises what the producer hit
            now, left = time.monotonic(), await backlog(env.bootstrap, group, topic, env.partitions)
            if producing.done() and left == 0 and len(done.ids) >= shape.targets:
                return Fill(now - started, producing.result(), len(done.ids))
            if (left, len(done.ids)) != last:
                last, moved_at = (left, len(done.ids)), now
            if now - moved_at > stall_s or (worker.proc and worker.proc.poll() is not None):
                producing.cancel()
                raise RuntimeError(f"fill stuck at backlog {left}, {len(done.ids)} completed:\n"
                                   f"{worker.tail()}")  # fmt: skip
            if now - printed_at > 30:
                printed_at = now
                print(f"  fill {now - started:5.0f} s: backlog {left:,}, {len(done.ids):,} of "
                      f"{shape.targets:,} recoveries completed", flush=True)  # fmt: skip


# --- what the tables hold ----------------------------------------------------------------


async def latest(bootstrap: str, topic: str, partitions: int, size: Callable[[bytes], int]) -> int:
    """Read a compacted topic from its start: ``size`` summed over each key's latest value
    (tombstoned keys count nothing), as a worker's table holds it."""
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    rows: dict[bytes | None, int] = {}
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for records in (await consumer.getmany(timeout_ms=1000, max_records=5000)).values():
                for record in records:
                    if record.value is None:
                        rows.pop(record.key, None)
                    else:
                        rows[record.key] = size(record.value)
    finally:
        await consumer.stop()
    return sum(rows.values())


async def changelog_records(env: PipelineEnv) -> dict[str, int]:
    """Records on each table's changelog: what a start with empty stores replays."""
    tps = [TopicPartition(changelog(env, t), p) for t in tables() for p in range(env.partitions)]
    consumer = AIOKafkaConsumer(bootstrap_servers=env.bootstrap, group_id=None)
    await consumer.start()
    try:
        firsts, ends = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return {
        t: sum(ends[tp] - firsts[tp] for tp in tps if tp.topic == changelog(env, t))
        for t in tables()
    }


@dataclass(frozen=True)
class KeptFill:
    """A fill left in its run dir, to restart its worker again later without refilling."""

    prefix: str  # the topics' and group's
    api_ports: dict[str, int]
    shape: Shape
    filled: Fill

    FILE: ClassVar[str] = "fill.json"

    def save(self, rundir: Path) -> None:
        (rundir / self.FILE).write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, rundir: Path) -> "KeptFill | None":
        path = rundir / cls.FILE
        if not path.exists():
            return None
        kept = json.loads(path.read_text())
        shape, filled = Shape(**kept["shape"]), Fill(**kept["filled"])
        return cls(kept["prefix"], kept["api_ports"], shape, filled)


@dataclass(frozen=True)
class Census:
    """What the tables hold, read from their changelogs."""

    dedup_entries: int  # event ids in the seen rows
    rows: dict[str, int]  # table -> rows
    changelog_records: dict[str, int]  # table -> records on its changelog

    def line(self) -> str:
        rows = ", ".join(
            f"{self.rows[t]:,} {t} rows ({self.changelog_records[t]:,} records)" for t in self.rows
        )
        return f"{self.dedup_entries:,} dedup entries; {rows} on the changelogs"


async def census(env: PipelineEnv) -> Census:
    def one(_: bytes) -> int:
        return 1

    def entries(value: bytes) -> int:
        return sum(1 for _ in decode_seen(value))

    rows = {
        t: await latest(env.bootstrap, changelog(env, t), env.partitions, one) for t in tables()
    }
    seen = await latest(env.bootstrap, changelog(env, "seen"), env.partitions, entries)
    return Census(seen, rows, await changelog_records(env))


# --- what a worker says and uses ---------------------------------------------------------


def replayed(log_text: str) -> tuple[int, int] | None:
    """(records to replay, records in all) from the last replay line of a worker's log; None
    when there is none (a memory-store worker replays everything and says nothing)."""
    found = REPLAY_LINE.findall(log_text)
    return (int(found[-1][0]), int(found[-1][1])) if found else None


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) of a process, in KiB (Linux)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields
