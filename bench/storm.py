"""Storm throughput and end-to-end latency of one worker, next to raw aiokafka.

Run from the repository root: ``.venv/bin/python -m bench.storm [--errors N] [--rate R]``.
Uses ``KAFKA_BOOTSTRAP_SERVERS`` when set, else starts the project's local broker.

1. raw: an aiokafka consume->produce passthrough of the same encoded errors (the ceiling);
2. storm: the same errors through a real ``tmc-recovery worker`` (ingest, dedup, routing),
   timed until the worker's group has committed every error, on the errors topic and on the
   triage topic. It runs once per producer (``--producers``): aiokafka (murmur2, as Java),
   confluent-kafka (librdkafka) with its default partitioner (``consistent_random``, CRC32),
   and confluent-kafka with ``partitioner=murmur2_random``. An error produced to another
   partition than its cluster's is forwarded through the triage topic; the share forwarded is
   counted there;
3. latency: emit -> Completed result at a steady rate, with a do-nothing strategy
   (``--rate`` with no value skips it).
"""

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from confluent_kafka import KafkaError, Message, Producer

from bench import report
from bench.report import Figure
from schemas.records import RecoveryState
from strategies.simulator import FleetSimulator
from streams.clients import LIBRDKAFKA_PARTITIONER
from streams.clients.subscriber import ResultSubscriber
from streams.config import load_service_settings
from streams.partitioning import partition_for
from streams.testing.harness import (
    ERRORS,
    PipelineEnv,
    WorkerProcess,
    broker,
    create_topics,
    unreachable,
)
from streams.topics import ensure_topics, topic_plan

PARTITIONS = 6


async def produce_all(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> int:
    """Produce with aiokafka; returns how many records landed off their key's murmur2 partition."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in records]
        sent = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return sum(
        meta.partition != partition_for(key, PARTITIONS)
        for meta, (key, _) in zip(sent, records, strict=True)
    )


def produce_librdkafka(
    bootstrap: str, topic: str, records: list[tuple[bytes, bytes]], config: Mapping[str, str]
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

    async def produce(self, bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> int:
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


async def raw_passthrough(bootstrap: str, records: list[tuple[bytes, bytes]]) -> float:
    """Records/s of consume -> produce of the same bytes, with commits, like a worker."""
    source, sink = f"raw.in.{os.getpid()}", f"raw.out.{os.getpid()}"
    await create_topics(bootstrap, [NewTopic(t, PARTITIONS, 1) for t in (source, sink)])
    consumer = AIOKafkaConsumer(
        source, bootstrap_servers=bootstrap, group_id=f"raw-{os.getpid()}",
        auto_offset_reset="earliest", enable_auto_commit=False,
    )  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await consumer.start()
    await producer.start()
    try:
        await consumer.getmany(timeout_ms=2000)  # join the group before the clock starts
        started = time.perf_counter()
        feeder = asyncio.create_task(produce_all(bootstrap, source, records))
        moved = 0
        while moved < len(records):
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            for messages in batch.values():
                for message in messages:
                    await producer.send(sink, message.value, key=message.key)
                moved += len(messages)
            if batch:
                await producer.flush()
                await consumer.commit()
        await feeder
        return len(records) / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()


async def committed(bootstrap: str, group: str, topic: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        return {tp: meta.offset for tp, meta in offsets.items() if tp.topic == topic}
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


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux), less sensitive to a busy machine
    than wall time: another process's load slows the storm but costs the worker no CPU."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class StormRun:
    rate: float  # errors/s through ingest and triage
    misplaced: int  # errors the producer put on another partition than their cluster's
    forwarded: int  # records the worker forwarded through the triage topic
    cpu: float  # the worker's CPU seconds for the storm


async def storm(
    bootstrap: str,
    records: list[tuple[bytes, bytes]],
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


async def latency(bootstrap: str, rate: float, seconds: float, workdir: Path) -> list[float]:
    """Seconds from emit to the Completed result, at a steady ``rate`` per second."""
    env = PipelineEnv(bootstrap, workdir / "unused-fleet.yaml", workdir, partitions=PARTITIONS)
    config = env.config("latency", execution={"max_concurrent": 100})
    log = (workdir / "latency.log").open("ab")
    worker = subprocess.Popen(  # noqa: ASYNC220 - started once, before the clock runs
        [sys.executable, "-m", "bench.noop_worker", "-c", str(config)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    sent: dict[str, float] = {}
    seen: list[float] = []
    try:
        topics = load_service_settings(config).topics
        await ensure_topics(bootstrap, topic_plan(topics, ["NoopFast"]))
        async with ResultSubscriber(
            bootstrap, topic=env.topics["results"], states=[RecoveryState.COMPLETED]
        ) as results:
            await asyncio.sleep(8)  # let the worker join its group and recover
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks="all")
            await producer.start()
            count = int(rate * seconds)

            async def emit_steadily() -> None:
                start = time.perf_counter()
                for i in range(count):
                    error = unreachable(f"lat-{i % 50}")
                    assert error.event_id is not None
                    delay = start + i / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    sent[error.event_id] = time.perf_counter()
                    value = ERRORS.encode(error)
                    await producer.send(env.topics["errors"], value, key=error.kafka_key())

            emitter = asyncio.create_task(emit_steadily())

            async def collect() -> None:
                async for result in results:
                    t = sent.get(result.error.event_id or "")
                    if t is not None:
                        seen.append(time.perf_counter() - t)
                    if len(seen) >= count:
                        return

            with contextlib.suppress(TimeoutError):  # a worker that falls behind: report it
                await asyncio.wait_for(collect(), seconds + 30)
            await emitter
            await producer.stop()
    finally:
        worker.terminate()
        worker.wait(30)
        log.close()
    return seen


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


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--errors", type=int, default=20_000)
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--rate", type=float, nargs="*", default=[500.0, 100.0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--producers", nargs="+", choices=list(PRODUCERS), default=list(PRODUCERS),
        help="who produces the storm; each is one storm run (times --repeat)",
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=1, help="storm runs per producer (best)")
    args = parser.parse_args()
    rng = random.Random(7)
    names = [f"storm-{i}" for i in range(args.targets)]
    errors = [unreachable(rng.choice(names)) for _ in range(args.errors)]
    records = [(e.kafka_key(), ERRORS.encode(e)) for e in errors]
    workdir = Path(tempfile.mkdtemp(prefix="bench-storm-"))
    async with broker() as bootstrap:
        print(f"records: {args.errors} errors over {args.targets} targets, {PARTITIONS} partitions")
        raw = await raw_passthrough(bootstrap, records)
        print(f"raw aiokafka passthrough: {raw:10.0f} records/s", flush=True)
        runs: dict[str, list[StormRun]] = {name: [] for name in args.producers}
        for _ in range(args.repeat):  # round robin, so a busy spell hits every producer alike
            for name in args.producers:
                run = await storm(bootstrap, records, workdir, PRODUCERS[name])
                runs[name].append(run)
                print(
                    f"storm through triage, {PRODUCERS[name].label}: {run.rate:.0f} errors/s, "
                    f"{run.forwarded} forwarded ({run.misplaced} produced off their partition), "
                    f"worker CPU {run.cpu:.1f} s",
                    flush=True,
                )
        best = {  # the best rate and, separately, the least CPU of the repeats
            name: replace(max(done, key=lambda run: run.rate), cpu=min(run.cpu for run in done))
            for name, done in runs.items()
        }
        print_storm_table(raw, best, len(records))
        report.write(
            "storm",
            " ".join(["python -m bench.storm", *sys.argv[1:]]),
            [
                Figure(f"storm through triage, {PRODUCERS[name].label}", run.rate, raw, "errors/s")
                for name, run in best.items()
            ],
        )
        for rate in args.rate:
            lat = await latency(bootstrap, rate, args.seconds, workdir)
            wanted = int(rate * args.seconds)
            figures = "no recovery completed"
            if lat:
                p50, p99 = percentile(lat, 50) * 1000, percentile(lat, 99) * 1000
                figures = f"p50 {p50:.0f} ms, p99 {p99:.0f} ms"
            print(
                f"e2e latency at {rate:.0f}/s for {args.seconds:.0f}s: {len(lat)}/{wanted} "
                f"completed within {args.seconds + 30:.0f}s, {figures}",
                flush=True,
            )


if __name__ == "__main__":
    asyncio.run(main())
