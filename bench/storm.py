"""Storm throughput of one worker, next to the raw aiokafka passthrough of the same errors.

Run from the repository root: ``.venv/bin/python -m bench.storm [--errors N [N ...]]``.
Uses ``KAFKA_BOOTSTRAP_SERVERS`` when set, else starts the project's local broker.

Each storm size (``--errors``, default the issue's two: 20,000 errors over 200 targets and
200,000 over 2,000, ``--per-target`` errors per target; ``--errors 20000`` is the quick run)
is measured on its own, so the cost per error can be compared as the storm grows:

1. raw: an aiokafka consume->produce passthrough of the same encoded errors (the ceiling,
   bench/raw.py);
2. storm: the same errors through a real ``tmc-recovery worker`` (ingest, dedup, routing),
   timed until the worker's group has committed every error, on the errors topic and on the
   triage topic. It runs once per producer (``--producers``): aiokafka (murmur2, as Java),
   confluent-kafka (librdkafka) with its default partitioner (``consistent_random``, CRC32),
   and confluent-kafka with ``partitioner=murmur2_random``. An error produced to another
   partition than its cluster's is forwarded through the triage topic; the share forwarded is
   counted there.

Latency (emit -> Completed) is bench.latency's.
"""

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError
from confluent_kafka import KafkaError, Message, Producer

from bench import report
from bench.cpu import cpu_seconds
from bench.raw import PARTITIONS, Records, encoded, produce_all, raw_passthrough
from bench.report import Figure
from strategies.simulator import FleetSimulator
from streams.clients import LIBRDKAFKA_PARTITIONER
from streams.partitioning import partition_for
from streams.testing.harness import PipelineEnv, WorkerProcess, broker, unreachable


def produce_librdkafka(
    bootstrap: str, topic: str, records: Records, config: Mapping[str, str]
) -> int:
    """Produce with confluent-kafka (blocking); returns how many records landed off their key's
    murmur2 partition."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all", **config})
    misplaced, failed = 0, 0

    def delivered(err: KafkaError | None, msg: Message) -> None:
        nonlocal misplaced, failed
        if err is not None:
            failed += 1
        elif msg.partition() != partition_for(msg.key() or b"", PARTITIONS):
            misplaced += 1

    for key, value in records:
        while True:
            try:
                producer.produce(topic, value=value, key=key, on_delivery=delivered)
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(60) or failed:
        raise RuntimeError(f"confluent-kafka failed to deliver {failed} records to {topic}")
    return misplaced


@dataclass(frozen=True)
class Producing:
    """One way of producing the storm: a label for the report and how to produce."""

    label: str
    librdkafka: Mapping[str, str] | None  # None: aiokafka

    async def produce(self, bootstrap: str, topic: str, records: Records) -> int:
        if self.librdkafka is None:
            return await produce_all(bootstrap, topic, records)
        return await asyncio.to_thread(
            produce_librdkafka, bootstrap, topic, records, self.librdkafka
        )


PRODUCERS = {
    "aiokafka": Producing("aiokafka (murmur2, as Java)", None),
    "librdkafka-default": Producing("confluent-kafka default (consistent_random)", {}),
    "librdkafka-murmur2": Producing(
        "confluent-kafka partitioner=murmur2_random", dict(LIBRDKAFKA_PARTITIONER)
    ),
}


async def committed(bootstrap: str, group: str, topic: str) -> dict[TopicPartition, int]:
    """The group's committed offsets on ``topic``; none while the broker has no coordinator
    for a group that is still joining."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        return {tp: meta.offset for tp, meta in offsets.items() if tp.topic == topic}
    except GroupCoordinatorNotAvailableError:
        return {}
    finally:
        await admin.close()


async def caught_up(
    bootstrap: str, group: str, topic: str, ends: dict[TopicPartition, int]
) -> None:
    """Return once ``group`` has committed ``topic`` up to ``ends``."""
    while True:
        done = await committed(bootstrap, group, topic)
        if all(done.get(tp, 0) >= end for tp, end in ends.items()):
            return
        await asyncio.sleep(0.1)


async def end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(PARTITIONS)])
        return dict(ends)
    finally:
        await consumer.stop()


async def count_forwarded(bootstrap: str, topic: str, ends: dict[TopicPartition, int]) -> int:
    """Records on the triage topic up to ``ends`` that are forwarded errors (the worker's
    ticks carry no value)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        forwarded = 0
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for tp, batch in (await consumer.getmany(timeout_ms=1000)).items():
                for record in batch:
                    if record.offset < ends[tp] and record.value:
                        forwarded += 1
        return forwarded
    finally:
        await consumer.stop()


@dataclass(frozen=True)
class StormRun:
    rate: float  # errors/s through ingest and triage
    misplaced: int  # errors the producer put on another partition than their cluster's
    forwarded: int  # records the worker forwarded through the triage topic
    cpu: float  # the worker's CPU seconds for the storm


async def storm(
    bootstrap: str,
    records: Records,
    workdir: Path,
    producing: Producing = PRODUCERS["aiokafka"],
) -> StormRun:
    """Errors/s through a real worker's ingest and triage (until all are committed)."""
    clusters = sorted({key.decode() for key, _ in records})
    async with FleetSimulator(clusters) as fleet:
        env = PipelineEnv(bootstrap, fleet.fleet_path, workdir, partitions=PARTITIONS)
        worker = WorkerProcess(env.config(env.prefix), workdir / f"{env.prefix}.log").start()
        group, errors, triage = f"{env.prefix}-group", env.topics["errors"], env.topics["triage"]
        try:
            await worker.ready()
            assert worker.proc is not None
            cpu_before = cpu_seconds(worker.proc.pid)
            started = time.perf_counter()
            misplaced = await producing.produce(bootstrap, errors, records)
            await caught_up(bootstrap, group, errors, await end_offsets(bootstrap, errors))
            # The worker flushes its producer before it commits, so every forwarded error is
            # on the triage topic by now; ticks may follow, and are light.
            triage_ends = await end_offsets(bootstrap, triage)
            await caught_up(bootstrap, group, triage, triage_ends)
            rate = len(records) / (time.perf_counter() - started)
            cpu = cpu_seconds(worker.proc.pid) - cpu_before
        finally:
            worker.stop()
        forwarded = await count_forwarded(bootstrap, triage, triage_ends)
        return StormRun(rate, misplaced, forwarded, cpu)


def print_storm_table(raw: float, runs: dict[str, StormRun], total: int) -> None:
    """Markdown: each producer's storm rate and ratio to raw, share forwarded, worker CPU; then
    what librdkafka's default partitioner costs next to murmur2_random (same client)."""
    print()
    print("| producer | storm errors/s | storm / raw | forwarded | worker CPU per 1,000 errors |")
    print("|---|---|---|---|---|")
    for name, run in runs.items():
        print(
            f"| {PRODUCERS[name].label} | {run.rate:,.0f} | {run.rate / raw:.3f} "
            f"| {run.forwarded:,} ({run.forwarded / total:.0%}) | {run.cpu * 1e3 / total:.2f} s |"
        )
    print(f"| raw aiokafka passthrough (baseline) | {raw:,.0f} records/s | 1 | | |")
    default, java = runs.get("librdkafka-default"), runs.get("librdkafka-murmur2")
    if default and java:
        print(
            f"\nconfluent-kafka's default partitioner next to murmur2_random: "
            f"{default.rate / java.rate:.2f}x the throughput, {default.cpu / java.cpu:.2f}x the "
            "worker CPU"
        )
    sys.stdout.flush()


async def storm_size(
    bootstrap: str, args: argparse.Namespace, errors: int, workdir: Path
) -> tuple[list[Figure], dict[str, Any]]:
    """One storm size: the raw baseline, then every producer's storm (best of the repeats)."""
    targets = max(1, errors // args.per_target)
    size = f"{errors:,} errors over {targets:,} targets"
    rng = random.Random(7)
    names = [f"storm-{i}" for i in range(targets)]
    records = encoded(unreachable(rng.choice(names)) for _ in range(errors))
    print(f"\nrecords: {size}, {PARTITIONS} partitions")
    raw = await raw_passthrough(bootstrap, records)
    print(f"raw aiokafka passthrough: {raw:10.0f} records/s", flush=True)
    runs: dict[str, list[StormRun]] = {name: [] for name in args.producers}
    for _ in range(args.repeat):  # round robin, so a busy spell hits every producer alike
        for name in args.producers:
            run = await storm(bootstrap, records, workdir, PRODUCERS[name])
            runs[name].append(run)
            print(
                f"storm through triage, {PRODUCERS[name].label}: {run.rate:.0f} errors/s "
                f"({run.rate / raw:.3f}x raw), {run.forwarded} forwarded ({run.misplaced} "
                f"produced off their partition), worker CPU {run.cpu:.1f} s",
                flush=True,
            )
    best = {  # the best rate and, separately, the least CPU of the repeats
        name: replace(max(done, key=lambda run: run.rate), cpu=min(run.cpu for run in done))
        for name, done in runs.items()
    }
    print_storm_table(raw, best, len(records))
    figures = [
        Figure(f"storm {size}, {PRODUCERS[name].label}", run.rate, raw, "errors/s")
        for name, run in best.items()
    ]
    details = {
        "errors": errors,
        "targets": targets,
        "raw_records_per_s": raw,
        "runs": {name: [asdict(run) for run in done] for name, done in runs.items()},
    }
    return figures, details


async def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.storm", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--errors", type=int, nargs="+", default=[20_000, 200_000],
        help="storm sizes, each measured on its own (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument("--per-target", type=int, default=100, help="errors per target")
    parser.add_argument(
        "--producers", nargs="+", choices=list(PRODUCERS), default=list(PRODUCERS),
        help="who produces the storm; each is one storm run (times --repeat)",
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=1, help="storm runs per producer (best)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-storm-"))
    figures: list[Figure] = []
    sizes: list[dict[str, Any]] = []
    async with broker() as bootstrap:
        for errors in args.errors:
            measured, details = await storm_size(bootstrap, args, errors, workdir)
            figures += measured
            sizes.append(details)
    written = report.write("storm", figures, {"sizes": sizes, "workdir": str(workdir)})
    print(f"\nwritten to {written}; worker logs in {workdir}")


if __name__ == "__main__":
    asyncio.run(main())
