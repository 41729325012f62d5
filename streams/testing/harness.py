"""Real workers (subprocesses of `tmc-recovery worker`) against a real broker, and the topic
I/O to drive and read them: shared by tests/ and bench/, which never import each other.

Each environment gets its own topic names and consumer group, so runs never share state; the
status table is read back from its compacted changelog topic, as any client could.
"""

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas.codec import RecordCodec
from schemas.records import ErrorType, RecoveryResult, TMCError
from streams.broker.errors import PortInUse
from streams.broker.launcher import claim_port
from streams.testing.brokers import provide_broker
from streams.topology import TOPOLOGY

#: The installed command, beside the interpreter running this.
CLI = str(Path(sys.executable).parent / "tmc-recovery")
RESULTS = RecordCodec(RecoveryResult)
ERRORS = RecordCodec(TMCError)
API_SERVING = "api serving on "  # streams/api/server.py logs it with the URL


def unreachable(cluster: str, error_type: ErrorType = ErrorType.CLUSTER_UNREACHABLE) -> TMCError:
    """An error with a fresh event id, as the emitter would send it."""
    error = (
        TMCError.build(error_type, "syncer", "heartbeat")
        .with_cluster(cluster, "root:tmc")
        .with_message("heartbeat lost")
        .build()
    )
    return replace(error, event_id=str(uuid.uuid4()))


#: Below the kernel's ephemeral ports (32768 up on Linux), from which every outgoing connection
#: takes its local port: a worker's API port claimed there was taken by a Kafka client's
#: connection before the worker bound it ("Address already in use", 4 tests at once).
API_PORTS = range(20000, 32000)


def api_port() -> int:
    """A free port for a worker's API, outside the ephemeral range."""
    for _ in range(100):
        try:
            return claim_port("127.0.0.1", random.choice(API_PORTS))
        except PortInUse:
            continue
    return claim_port("127.0.0.1", 0)


@dataclass
class PipelineEnv:
    """Settings shared by the workers of one test: unique topics and group, fast rebalances."""

    bootstrap: str
    fleet_file: Path
    workdir: Path
    partitions: int = 3
    prefix: str = field(default_factory=lambda: f"p{uuid.uuid4().hex[:8]}")
    api_ports: dict[str, int] = field(default_factory=dict)  # worker name -> its API port

    @property
    def topics(self) -> dict[str, Any]:
        """The ``topics`` section: every topic of the spec under this test's prefix."""
        return {**TOPOLOGY.under(self.prefix), "partitions": self.partitions}

    def config(self, name: str, **overrides: Any) -> Path:
        """A worker config file; ``overrides`` are merged one level deep."""
        if name not in self.api_ports:  # the same port at each restart: a static member's API
            self.api_ports[name] = api_port()  # URL must not change
        config: dict[str, Any] = {
            "worker_id": name,
            "data_dir": str(self.workdir / name),
            # Tables in memory: each RocksDB worker takes about 1 s more to start and stop, and
            # tests/pipeline/test_persistent_tables.py runs them persistent. TMC_STORE=rocksdb
            # (the environment wins over this file) runs any pipeline test on RocksDB.
            "store": "memory",
            "fleet_file": str(self.fleet_file),
            "kafka": {
                "bootstrap_servers": self.bootstrap,
                "group_id": f"{self.prefix}-group",
                "session_timeout_s": 6,
                "heartbeat_interval_s": 0.5,
                "rebalance_timeout_s": 10,
                "commit_interval_s": 0.5,
            },
            "topics": self.topics,
            "retry": {"base_delay_s": 0.2, "max_delay_s": 1.0},
            "api": {"port": self.api_ports[name]},
        }
        for key, value in overrides.items():
            if isinstance(value, Mapping) and isinstance(config.get(key), dict):
                config[key] = {**config[key], **value}
            else:
                config[key] = value
        path = self.workdir / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config))
        return path


class WorkerProcess:
    """One `tmc-recovery worker`, stopped by its own pid."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "WorkerProcess":
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [CLI, "worker", "-c", str(self.config), "--loglevel", "info"],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        return self

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    async def wait_for_log(self, needle: str, within_s: float = 90, after: int = 0) -> None:
        deadline = time.monotonic() + within_s
        while needle not in self.text()[after:]:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited ({self.proc.returncode}):\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {needle!r} within {within_s}s:\n{self.tail()}")
            await asyncio.sleep(0.2)

    async def ready(self, within_s: float = 90) -> "WorkerProcess":
        await self.wait_for_log("worker ready:", within_s)  # joined, recovered, caught up
        return self

    async def api_url(self, within_s: float = 90) -> str:
        """The URL this worker's API serves on (its latest start's, after a restart)."""
        await self.wait_for_log(API_SERVING, within_s)
        return self.text().rsplit(API_SERVING, 1)[1].split()[0]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


async def create_topics(bootstrap: str, topics: list[NewTopic]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(topics)
    finally:
        await admin.close()


async def produce(
    bootstrap: str,
    topic: str,
    records: list[tuple[bytes | None, bytes]],
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, enable_idempotence=True)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, value, key=key, headers=headers) for key, value in records
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def emit(bootstrap: str, topic: str, errors: list[TMCError]) -> None:
    await produce(bootstrap, topic, [(e.kafka_key(), ERRORS.encode(e)) for e in errors])


Record = tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]


async def read_records(
    bootstrap: str, topic: str, partitions: int, isolation_level: str = "read_committed"
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every committed record in ``topic``, oldest first per partition."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level=isolation_level,
    )
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        out: list[ConsumerRecord[bytes, bytes]] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                out += records
        return out
    finally:
        await consumer.stop()


async def read_topic(
    bootstrap: str, topic: str, partitions: int, isolation_level: str = "read_committed"
) -> list[Record]:
    """Every committed record in ``topic`` (key, value, headers), oldest first per partition."""
    records = await read_records(bootstrap, topic, partitions, isolation_level)
    return [(r.key, r.value, list(r.headers)) for r in records]


async def status_table(env: PipelineEnv) -> dict[str, RecoveryResult]:
    """The status table as its compacted changelog holds it: recovery id -> latest row."""
    rows: dict[str, RecoveryResult] = {}
    for _, value, _ in await read_topic(env.bootstrap, env.topics["status"], env.partitions):
        if value:
            row = RESULTS.decode(value)
            rows[row.id] = row
    return rows


async def wait_for_table(
    env: PipelineEnv,
    done: Callable[[dict[str, RecoveryResult]], bool],
    within_s: float = 60,
    workers: tuple[WorkerProcess, ...] = (),
) -> dict[str, RecoveryResult]:
    deadline = time.monotonic() + within_s
    while True:
        rows = await status_table(env)
        if done(rows):
            return rows
        if time.monotonic() > deadline:
            states = sorted(f"{r.id}={r.state.value}" for r in rows.values())[:40]
            logs = "\n".join(w.tail(30) for w in workers)
            summary = f"{len(rows)} rows {states}"
            raise AssertionError(f"table not done in {within_s}s: {summary}\n{logs}")
        await asyncio.sleep(0.5)


@asynccontextmanager
async def broker() -> AsyncIterator[str]:
    """A real broker for the duration (brokers.py says which), released afterwards: what a
    benchmark runs against."""
    provided = await asyncio.to_thread(provide_broker)
    try:
        yield provided.bootstrap
    finally:
        await asyncio.to_thread(provided.stop)
