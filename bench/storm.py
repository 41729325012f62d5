"""Storm throughput and end-to-end latency of one worker, next to raw aiokafka.

Run from the repository root: ``.venv/bin/python -m bench.storm [--errors N] [--rate R]``.
Uses ``KAFKA_BOOTSTRAP_SERVERS`` when set, else starts the project's local broker.

1. raw: an aiokafka consume->produce passthrough of the same encoded errors (the ceiling);
2. storm: the same errors through a real ``tmc-recovery worker`` (ingest, dedup, routing),
   timed until the worker's group has committed every error;
3. latency: emit -> Completed result at a steady rate, with a do-nothing strategy.
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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas.records import RecoveryState
from strategies.simulator import FleetSimulator
from streams.broker.launcher import LocalKafka
from streams.broker.settings import LocalKafkaSettings
from streams.clients.subscriber import ResultSubscriber
from streams.config import load_service_settings
from streams.topics import ensure_topics, topic_plan
from tests.conftest import create_topics
from tests.pipeline.harness import ERRORS, PipelineEnv, WorkerProcess, unreachable

PARTITIONS = 6


@asynccontextmanager
async def broker() -> AsyncIterator[str]:
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    kafka = LocalKafka(LocalKafkaSettings(run_dir=Path(tempfile.mkdtemp(prefix="bench-kafka-"))))
    state = await asyncio.to_thread(kafka.up)
    try:
        yield state.bootstrap
    finally:
        await asyncio.to_thread(kafka.down, True)


async def produce_all(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


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


async def committed(bootstrap: str, group: str, topics: set[str]) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        return sum(meta.offset for tp, meta in offsets.items() if tp.topic in topics)
    finally:
        await admin.close()


async def storm(bootstrap: str, records: list[tuple[bytes, bytes]], workdir: Path) -> float:
    """Errors/s through a real worker's ingest and triage (until all are committed)."""
    clusters = sorted({key.decode() for key, _ in records})
    async with FleetSimulator(clusters) as fleet:
        env = PipelineEnv(bootstrap, fleet.fleet_path, workdir, partitions=PARTITIONS)
        worker = WorkerProcess(env.config("storm"), workdir / "storm.log").start()
        try:
            await worker.ready()
            started = time.perf_counter()
            await produce_all(bootstrap, env.topics["errors"], records)
            group, errors = f"{env.prefix}-group", env.topics["errors"]
            # An error that was forwarded to the triage topic is committed there too.
            while await committed(bootstrap, group, {errors}) < len(records):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            return len(records) / (time.perf_counter() - started)
        finally:
            worker.stop()


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


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--errors", type=int, default=20_000)
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--rate", type=float, nargs="+", default=[500.0, 100.0])
    parser.add_argument("--seconds", type=float, default=20.0)
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
        ours = await storm(bootstrap, records, workdir)
        print(f"storm through triage:     {ours:10.0f} errors/s", flush=True)
        print(f"ratio (storm / raw):      {ours / raw:10.3f}", flush=True)
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
