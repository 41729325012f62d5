"""How long a worker's partitions stay unserved when a worker restarts, dies or leaves.

Run from the repository root: ``.venv/bin/python -m bench.restart``. Uses
``KAFKA_BOOTSTRAP_SERVERS`` when set, else starts the project's local broker.

Each case is timed from the signal to the moment **every** partition is consumed again,
observed end to end: right after the signal one error is emitted for a cluster on each
partition, and the clock stops when the last of them has a Completed recovery on the
results topic (so the figure includes that recovery of a healthy simulated cluster: the
"steady" figure is the same round on a healthy group). Cases, each with static membership
(``kafka.instance_id``) and with dynamic membership:

- restart: SIGKILL the only worker and start it again at once (as a supervisor would);
- restart-term: SIGTERM the only worker and start it again once it has exited;
- takeover: two workers, SIGKILL one; the other must take its partitions over;
- scale-in: two workers, SIGTERM one (a graceful stop);
- big-state (only when named: it fills a worker first, which takes minutes): the issue's
  restart goal. One worker is filled through the pipeline with ``--entries`` dedup entries
  and ``--status-rows`` recoveries (bench/bigstate.py says how, and why not by writing the
  changelogs directly), then, for each membership and for ``store: rocksdb`` and ``store:
  memory`` (a full replay, for comparison), restarted after SIGTERM and after SIGKILL. Each
  restart also reports when the worker exited and logged ``worker ready:``, and how many
  changelog records it replayed (its ``N of M changelog records to replay`` line; a memory
  store replays them all). Its baselines are the raw member's restart-term and restart.
  ``python -m bench.restart --cases big-state --modes static`` is the issue's case (goal:
  consuming again within 15 s after either signal); ``--entries 100000 --status-rows 10000``
  is a quick one (about 5 minutes on 2 busy cores).

The baseline for each case is the same protocol dance with bare aiokafka in the same run:
a consumer process that echoes each record of a ping topic to a pong topic, with the same
session, heartbeat and rebalance timeouts and the same membership, put through the same
signal. A ratio near 1 means the worker adds little to what the consumer group protocol
itself costs. The in-process group join of a fresh AIOKafkaConsumer is printed too (the
floor of any restart).

A partition not served again within the deadline counts as stalled: the run has no
figure, and the table says how many runs stalled.

Results: a table on stdout and ``bench/results/restart.json``.
"""

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench import bigstate, report
from bench.noop_plugin import installed
from bench.report import Figure
from bench.topicwatch import TopicWatch
from schemas.records import RecoveryState
from strategies.simulator import FleetSimulator
from streams.cli.topics import worker_plan
from streams.config import ServiceSettings, load_service_settings
from streams.partitioning import partition_for
from streams.testing.harness import (
    ERRORS,
    RESULTS,
    PipelineEnv,
    WorkerProcess,
    broker,
    unreachable,
)
from streams.topics import ensure_topics

MODES = ("static", "dynamic")
ROUNDS = 4  # warm-up, warm-up with two workers, steady, measured
RUN = uuid.uuid4().hex[:6]  # this run's probe clusters (see clusters_per_partition)


@dataclass(frozen=True)
class Plan:
    """What a case does: how many members, which one signal to the last of them, and
    whether it is started again (as a supervisor would, once it has exited)."""

    members: int
    signal: signal.Signals
    restarts: bool

    @property
    def waits_for_exit(self) -> bool:
        """A killed member serves nothing more; a stopping one serves until it has left,
        unless it is to be started again (then the supervisor waits for it)."""
        return self.restarts or self.signal is signal.SIGKILL


PLANS = {
    "restart": Plan(1, signal.SIGKILL, restarts=True),
    "restart-term": Plan(1, signal.SIGTERM, restarts=True),
    "takeover": Plan(2, signal.SIGKILL, restarts=False),
    "scale-in": Plan(2, signal.SIGTERM, restarts=False),
}
BIG_STATE = "big-state"  # bench/bigstate.py: restarts of a worker holding the state
CASES = (*PLANS, BIG_STATE)


@dataclass(frozen=True)
class Timing:
    """The group timeouts every member uses (the worker's defaults unless told otherwise)."""

    session_timeout_s: float
    heartbeat_interval_s: float
    rebalance_timeout_s: float
    partitions: int


@dataclass
class Measurement:
    """One run of one case: seconds from the signal until the last (and the first)
    partition is consumed again; partitions still unserved at the deadline are stalled."""

    case: str
    mode: str
    subject: str  # "worker" or "raw aiokafka"
    all_partitions_s: float | None
    first_partition_s: float | None
    stalled: list[int] = field(default_factory=list)
    steady_s: float | None = None  # the same round on a healthy group (worker only)
    logs: str = ""


@dataclass(frozen=True)
class Outcome:
    slowest_s: float | None  # None when some partition is stalled
    fastest_s: float | None
    stalled: list[int]


def outcome(done_at: dict[int, float | None], since: float) -> Outcome:
    """From each partition's completion time (None: not yet) to the figures reported."""
    at = [t - since for t in done_at.values() if t is not None]
    stalled = sorted(p for p, t in done_at.items() if t is None)
    return Outcome(None if stalled else max(at), min(at) if at else None, stalled)


def deadline(timing: Timing) -> float:
    """How long a case may take before its unserved partitions count as stalled."""
    return 2 * timing.session_timeout_s + 2 * timing.rebalance_timeout_s + 30


# --- broker, processes, waiting ----------------------------------------------------------


def clusters_per_partition(partitions: int, rounds: int = ROUNDS) -> dict[int, list[str]]:
    """``rounds`` cluster names per partition, as the pipeline's partitioner places them.

    Each probe round uses clusters of its own, so no probe can be merged into the recovery
    of an earlier round (dedup merges errors for one cluster while its recovery is active),
    nor into one of an earlier run on a kept fill (``RUN`` tells the runs apart).
    """
    found: dict[int, list[str]] = {p: [] for p in range(partitions)}
    i = 0
    while any(len(names) < rounds for names in found.values()):
        i += 1
        name = f"edge-{RUN}-{i}"
        names = found[partition_for(name.encode(), partitions)]
        if len(names) < rounds:
            names.append(name)
    return found


class Process:
    """A raw baseline member: a subprocess logging to a file, stopped by its own pid."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self.argv = argv
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "Process":
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        return self

    def tail(self, lines: int = 15) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


Proc = Process | WorkerProcess


def running(proc: Proc) -> bool:
    return proc.proc is not None and proc.proc.poll() is None


def send_signal(proc: Proc, sig: int) -> None:
    """Signal ``proc`` by its pid and return at once (a graceful stop takes a while)."""
    if proc.proc is not None and proc.proc.poll() is None:
        proc.proc.send_signal(sig)


async def exited(proc: Proc, within_s: float = 60) -> None:
    """Wait for ``proc`` to exit; SIGKILL it after ``within_s``."""
    assert proc.proc is not None
    stop_at = time.monotonic() + within_s
    while proc.proc.poll() is None and time.monotonic() < stop_at:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    if proc.proc.poll() is None:
        proc.proc.kill()
        proc.proc.wait()


async def put_through(plan: Plan, victim: Proc, within_s: float = 60) -> float:
    """Signal ``victim`` as ``plan`` says and wait for its exit when the plan does (SIGKILL
    after ``within_s``); when the signal went, for the clock."""
    started = time.monotonic()
    send_signal(victim, plan.signal)
    if plan.waits_for_exit:
        await exited(victim, within_s)
    return started


async def dump_tasks(workers: Sequence[WorkerProcess]) -> None:
    """Ask each live worker where its tasks wait: mode's worker logs every thread's and
    asyncio task's stack on SIGUSR1, so a stalled run's log says where it is stuck."""
    for worker in workers:
        send_signal(worker, signal.SIGUSR1)
    await asyncio.sleep(2)


async def stop(procs: Sequence[Proc]) -> None:
    for proc in procs:
        send_signal(proc, signal.SIGTERM)
    for proc in procs:
        await exited(proc, within_s=30)


async def wait_until(
    done: Callable[[], bool], within_s: float, what: str, procs: Sequence[Proc] = ()
) -> None:
    """TimeoutError after ``within_s``; RuntimeError when every process has exited."""
    stop_at = time.monotonic() + within_s
    while not done():
        if procs and not any(running(p) for p in procs):
            logs = "\n".join(f"--- {p.log}\n{p.tail(15)}" for p in procs)
            raise RuntimeError(f"{what}: every process exited\n{logs}")
        if time.monotonic() > stop_at:
            raise TimeoutError(f"{what} not within {within_s:g}s")
        await asyncio.sleep(0.05)


async def settle_members(bootstrap: str, group: str, count: int) -> None:
    """Wait until ``group`` is Stable with ``count`` members (a second join can lag)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        stop_at = time.monotonic() + 120
        while True:
            with contextlib.suppress(Exception):
                (response,) = await admin.describe_consumer_groups([group])
                (described,) = response.to_object()["groups"]
                if described["state"] == "Stable" and len(described["members"]) == count:
                    return
            if time.monotonic() > stop_at:
                raise TimeoutError(f"group {group} never had {count} stable members")
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


# --- the worker side ---------------------------------------------------------------------


class ResultWatch(TopicWatch):
    """Completed recoveries on the results topic, by the event id of the error they heal."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        super().__init__(bootstrap, topic, partitions)
        self.completed: dict[str, float] = {}

    def on_record(self, value: bytes, now: float) -> None:
        result = RESULTS.decode(value)
        if result.state is RecoveryState.COMPLETED:
            for event_id in (result.error.event_id, *result.merged_error_ids):
                if event_id:
                    self.completed.setdefault(event_id, now)


class PipelineProbe:
    """One error per partition; done when each has a Completed recovery."""

    def __init__(
        self,
        topic: str,
        partitions: int,
        watch: ResultWatch,
        producer: AIOKafkaProducer,
        rounds: int = ROUNDS,
    ) -> None:
        self.topic = topic
        self.watch = watch
        self.producer = producer
        self.clusters = clusters_per_partition(partitions, rounds)
        self.rounds = 0

    async def send(self) -> dict[int, str]:
        """Emit the next round; the event id of each partition's error."""
        sent: dict[int, str] = {}
        futures = []
        for partition, names in self.clusters.items():
            error = unreachable(names[self.rounds])
            sent[partition] = error.event_id or ""
            value = ERRORS.encode(error)
            futures.append(await self.producer.send(self.topic, value, key=error.kafka_key()))
        await asyncio.gather(*futures)
        self.rounds += 1
        return sent

    def done(self, sent: dict[int, str]) -> bool:
        return all(event_id in self.watch.completed for event_id in sent.values())

    def outcome(self, sent: dict[int, str], since: float) -> Outcome:
        return outcome({p: self.watch.completed.get(e) for p, e in sent.items()}, since)


def worker_config(
    env: PipelineEnv, name: str, timing: Timing, static: bool, **overrides: Any
) -> Path:
    kafka: dict[str, Any] = {
        "session_timeout_s": timing.session_timeout_s,
        "heartbeat_interval_s": timing.heartbeat_interval_s,
        "rebalance_timeout_s": timing.rebalance_timeout_s,
        "commit_interval_s": ServiceSettings().kafka.commit_interval_s,
    }
    if static:
        kafka["instance_id"] = f"bench-{name}"
    # Every probe must start its own recovery, not merge into the previous one (the probes
    # of big-state runs use clusters of their own for that).
    return env.config(name, kafka=kafka, **{"dedup": {"cooldown_s": 0}, **overrides})


async def measure_pipeline(
    bootstrap: str, fleet_file: Path, workdir: Path, timing: Timing, case: str, mode: str
) -> Measurement:
    rundir = Path(tempfile.mkdtemp(prefix=f"{case}-{mode}-", dir=workdir))
    env = PipelineEnv(bootstrap, fleet_file, rundir, partitions=timing.partitions)
    plan = PLANS[case]
    names = ["w1", "w2"][: plan.members]
    configs = [worker_config(env, name, timing, mode == "static") for name in names]
    settings = load_service_settings(configs[0])
    await ensure_topics(bootstrap, worker_plan(settings))
    workers = [WorkerProcess(config, rundir / f"{config.stem}.log") for config in configs]
    logs = " ".join(str(w.log) for w in workers)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks="all")
    await producer.start()
    try:
        async with ResultWatch(bootstrap, settings.topics.results, timing.partitions) as watch:
            probe = PipelineProbe(settings.topics.errors, timing.partitions, watch, producer)
            for worker in workers:
                worker.start()
            # Warm up: every partition served (both workers in the group) before the clock.
            # A partition can stall here too; the run then counts as stalled, with no figure.
            current: dict[int, str] = {}
            limit = deadline(timing)
            try:
                current = await probe.send()
                await wait_until(lambda: probe.done(current), limit, "warm-up", workers)
                if len(workers) == 2:
                    await settle_members(bootstrap, settings.kafka.group_id, 2)
                    current = await probe.send()
                    await wait_until(lambda: probe.done(current), limit, "warm-up", workers)
                started = time.monotonic()
                steady = current = await probe.send()
                await wait_until(lambda: probe.done(steady), limit, "steady round", workers)
            except TimeoutError:
                await dump_tasks(workers)
                stalled = probe.outcome(current, time.monotonic()).stalled
                return Measurement(case, mode, "worker", None, None, stalled, None, logs)
            steady_s = probe.outcome(steady, started).slowest_s
            await asyncio.sleep(2)  # let the steady round's commits and releases land

            victim = workers[-1]
            started = await put_through(plan, victim)
            sent = await probe.send()
            if plan.restarts:
                workers.append(WorkerProcess(victim.config, victim.log).start())
            with contextlib.suppress(TimeoutError):
                await wait_until(lambda: probe.done(sent), limit, case, workers)
            result = probe.outcome(sent, started)
            if result.stalled:
                await dump_tasks(workers)
            return Measurement(
                case, mode, "worker", result.slowest_s, result.fastest_s, result.stalled,
                steady_s, logs,
            )  # fmt: skip
    finally:
        await producer.stop()
        await stop(workers)


# --- the raw aiokafka side ---------------------------------------------------------------


async def raw_member(args: argparse.Namespace) -> None:
    """The baseline member: echo every ping to the pong topic, commit, repeat. SIGTERM stops
    consuming at once (as a worker does) and closes the consumer: a dynamic member leaves
    the group there, a static one does not."""
    consumer = AIOKafkaConsumer(
        args.ping,
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        group_instance_id=args.instance_id,
        session_timeout_ms=int(args.session_timeout_s * 1000),
        heartbeat_interval_ms=int(args.heartbeat_interval_s * 1000),
        rebalance_timeout_ms=int(args.rebalance_timeout_s * 1000),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=args.bootstrap, linger_ms=0, acks="all")
    await producer.start()
    await consumer.start()
    print(f"raw member {args.instance_id or 'dynamic'} started", flush=True)

    async def echo() -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=100)
            for records in batch.values():
                for record in records:
                    await producer.send(args.pong, record.value)
            if batch:
                await producer.flush()
                await consumer.commit()

    echoing = asyncio.create_task(echo())
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, echoing.cancel)
    try:
        await echoing
    except asyncio.CancelledError:
        pass
    finally:
        await consumer.stop()
        await producer.stop()


class PongWatch(TopicWatch):
    """When each ping token came back on the pong topic."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(bootstrap, topic, 1)
        self.seen: dict[bytes, float] = {}

    def on_record(self, value: bytes, now: float) -> None:
        self.seen.setdefault(value, now)


async def measure_raw(
    bootstrap: str, workdir: Path, timing: Timing, case: str, mode: str
) -> Measurement:
    prefix = f"raw{uuid.uuid4().hex[:8]}"
    rundir = Path(tempfile.mkdtemp(prefix=f"raw-{case}-{mode}-", dir=workdir))
    ping, pong, group = f"{prefix}.ping", f"{prefix}.pong", f"{prefix}-group"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(ping, timing.partitions, 1), NewTopic(pong, 1, 1)])
    finally:
        await admin.close()
    static = mode == "static"

    def member(name: str) -> Process:
        argv = [
            sys.executable, "-m", "bench.restart", "raw-member", "--bootstrap", bootstrap,
            "--group", group, "--ping", ping, "--pong", pong,
            "--session-timeout-s", str(timing.session_timeout_s),
            "--heartbeat-interval-s", str(timing.heartbeat_interval_s),
            "--rebalance-timeout-s", str(timing.rebalance_timeout_s),
        ]  # fmt: skip
        if static:
            argv += ["--instance-id", name]
        return Process(argv, rundir / f"{name}.log")

    plan = PLANS[case]
    names = ["m1", "m2"][: plan.members]
    members = [member(name).start() for name in names]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks="all")
    await producer.start()

    async def send() -> list[bytes]:
        tokens = [f"{p}:{uuid.uuid4().hex}".encode() for p in range(timing.partitions)]
        futures = [await producer.send(ping, token, partition=p) for p, token in enumerate(tokens)]
        await asyncio.gather(*futures)
        return tokens

    try:
        async with PongWatch(bootstrap, pong) as pongs:

            def back(tokens: list[bytes]) -> Callable[[], bool]:
                return lambda: all(t in pongs.seen for t in tokens)

            await settle_members(bootstrap, group, len(members))
            warm = await send()
            await wait_until(back(warm), deadline(timing), "raw warm-up", members)
            started = await put_through(plan, members[-1])
            sent = await send()
            if plan.restarts:
                members.append(member(names[-1]).start())
            with contextlib.suppress(TimeoutError):
                await wait_until(back(sent), deadline(timing), f"raw {case}", members)
            result = outcome({p: pongs.seen.get(t) for p, t in enumerate(sent)}, started)
            return Measurement(
                case, mode, "raw aiokafka", result.slowest_s, result.fastest_s, result.stalled
            )
    finally:
        await producer.stop()
        await stop(members)


async def raw_join(bootstrap: str, timing: Timing) -> float:
    """Seconds from start() of a fresh AIOKafkaConsumer to its first assignment."""
    topic = f"join{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, timing.partitions, 1)])
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"{topic}-group",
        session_timeout_ms=int(timing.session_timeout_s * 1000),
        heartbeat_interval_ms=int(timing.heartbeat_interval_s * 1000),
    )
    started = time.monotonic()
    await consumer.start()
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=20)
        return time.monotonic() - started
    finally:
        await consumer.stop()


# --- the big-state case ------------------------------------------------------------------

STORES = ("rocksdb", "memory")
STATE_GRACE_S = 450.0  # on top of the deadline: a memory store replays everything at start


@dataclass
class StateRestart:
    """One restart of the worker holding the big state: seconds from the signal until it
    exited, logged ``worker ready:`` and consumed every partition again; records replayed
    (from its replay line; a memory store replays every changelog record)."""

    store: str
    mode: str
    signal: str
    all_partitions_s: float | None
    first_partition_s: float | None
    stalled: list[int]
    exit_s: float
    ready_s: float | None
    replayed: int
    changelog_records: int
    rss_kib: int | None  # the restarted worker's, once it consumed again


class StateWorker:
    """The one worker of a big-state run, started with a store and a membership, restarted
    on the same config; a probe tells when it consumes again."""

    def __init__(self, env: PipelineEnv, timing: Timing) -> None:
        self.env, self.timing = env, timing
        self.limit = deadline(timing) + STATE_GRACE_S
        self.worker: WorkerProcess | None = None
        self.running: tuple[str, str] | None = None  # (store, mode) of the worker

    def start(self, store: str, mode: str) -> WorkerProcess:
        """Start on a fresh config (the last worker must have exited); each store keeps its
        own data dir, so RocksDB's survives the memory runs."""
        overrides = bigstate.overrides(store, self.env.workdir / f"data-{store}")
        config = worker_config(self.env, "w1", self.timing, mode == "static", **overrides)
        self.worker = WorkerProcess(config, self.env.workdir / f"w1-{store}-{mode}.log").start()
        self.running = (store, mode)
        return self.worker

    async def switch(self, probe: PipelineProbe, store: str, mode: str) -> float:
        """Start a worker with ``store`` and ``mode`` unless it runs (stopping the other);
        seconds until a probe round completed (a memory store replays everything here)."""
        if self.running != (store, mode):
            if self.worker is not None:
                await put_through(PLANS["restart-term"], self.worker, self.limit)
            self.start(store, mode)
        worker = self.worker
        assert worker is not None
        started = time.monotonic()
        sent = await probe.send()
        await wait_until(lambda: probe.done(sent), self.limit, f"{store} start", [worker])
        return time.monotonic() - started

    async def measure(
        self, probe: PipelineProbe, modes: list[str], stores: list[str]
    ) -> tuple[dict[str, float | None], list[StateRestart]]:
        """Per membership and store: seconds from a start to consuming, and a SIGTERM and a
        SIGKILL restart (none when the start never consumed)."""
        starts: dict[str, float | None] = {}
        runs: list[StateRestart] = []
        for mode, store in [(mode, store) for mode in modes for store in stores]:
            try:
                starts[f"{store} {mode}"] = await self.switch(probe, store, mode)
            except TimeoutError:
                starts[f"{store} {mode}"] = None
                print(f"big-state {store} {mode}: not consuming {self.limit:g} s after its "
                      "start; its restarts are skipped", flush=True)  # fmt: skip
                continue
            for case in ("restart-term", "restart"):
                runs.append(run := await self.restart(probe, PLANS[case], store, mode))
                print(f"big-state {store:7} {mode:7} {run.signal:7} {fmt(run.all_partitions_s)} "
                      f"(ready {fmt(run.ready_s)}, {run.replayed:,} of "
                      f"{run.changelog_records:,} records replayed)", flush=True)  # fmt: skip
        return starts, runs

    async def restart(
        self, probe: PipelineProbe, plan: Plan, store: str, mode: str
    ) -> StateRestart:
        old = self.worker
        assert old is not None
        mark = len(old.text())
        records = sum((await bigstate.changelog_records(self.env)).values())
        started = await put_through(plan, old, self.limit)
        exit_s = time.monotonic() - started
        sent = await probe.send()
        new = self.worker = WorkerProcess(old.config, old.log).start()
        ready_at: list[float] = []

        def consuming() -> bool:
            if not ready_at and "worker ready:" in new.text()[mark:]:
                ready_at.append(time.monotonic() - started)
            return probe.done(sent)

        with contextlib.suppress(TimeoutError):
            await wait_until(consuming, self.limit, f"{store} {plan.signal.name}", [new])
        result = probe.outcome(sent, started)
        if result.stalled:
            await dump_tasks([new])
        replay = bigstate.replayed(new.text()[mark:])
        pid = new.proc.pid if new.proc is not None and new.proc.poll() is None else None
        rss = None if pid is None else bigstate.memory_kib(pid)["VmRSS"]
        await asyncio.sleep(2)  # the probe's commits land before the next signal
        return StateRestart(
            store, mode, plan.signal.name, result.slowest_s, result.fastest_s, result.stalled,
            exit_s, ready_at[0] if ready_at else None, replay[0] if replay else records,
            records, rss,
        )  # fmt: skip


async def measure_big_state(
    bootstrap: str, fleet_file: Path, workdir: Path, timing: Timing, modes: list[str],
    shape: bigstate.Shape, stores: list[str], fill_dir: Path | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Fill one worker (RocksDB, the first mode) through the pipeline, then per membership
    and store: a start, a SIGTERM restart and a SIGKILL restart, each timed by a probe.
    A ``fill_dir`` that holds a fill (and a broker that kept its topics) is measured again
    without filling: the fill takes most of an hour, a restart seconds."""
    rundir = fill_dir or Path(tempfile.mkdtemp(prefix="big-state-", dir=workdir))
    rundir.mkdir(parents=True, exist_ok=True)
    kept = bigstate.KeptFill.load(rundir)
    env = PipelineEnv(bootstrap, fleet_file, rundir, partitions=timing.partitions)
    if kept is not None:
        env.prefix, env.api_ports, shape = kept.prefix, kept.api_ports, kept.shape
    state = StateWorker(env, timing)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks="all")
    await producer.start()
    try:
        with installed(rundir / "plugin"):
            filler = state.start(STORES[0], modes[0])
            await filler.ready(state.limit)
            if kept is None:
                filled = await bigstate.fill(env, filler, shape)
                bigstate.KeptFill(env.prefix, env.api_ports, shape, filled).save(rundir)
            else:
                filled = kept.filled
                print(f"reusing the fill in {rundir} (prefix {env.prefix})", flush=True)
            census = await bigstate.census(env)
            print(f"filled in {filled.seconds:.0f} s ({filled.rate:,.0f} errors/s): "
                  f"{census.line()}", flush=True)  # fmt: skip
            async with ResultWatch(bootstrap, env.topics["results"], env.partitions) as watch:
                rounds = len(modes) * len(stores) * 3  # a start and two restarts each
                probe = PipelineProbe(env.topics["errors"], env.partitions, watch, producer, rounds)
                starts, runs = await state.measure(probe, modes, stores)
    finally:
        await producer.stop()
        if state.worker is not None:
            await stop([state.worker])
    raws = {
        (mode, PLANS[case].signal.name): await measure_raw(bootstrap, workdir, timing, case, mode)
        for mode in modes
        for case in ("restart-term", "restart")
    }
    return {
        "shape": asdict(shape),
        "fill": {**asdict(filled), "errors_per_s": filled.rate},
        "census": asdict(census),
        "cold_start_s": starts,
        "runs": [asdict(r) for r in runs],
        "raw": {f"{mode} {sig}": asdict(m) for (mode, sig), m in raws.items()},
        "workdir": str(rundir),
    }


# --- report ------------------------------------------------------------------------------


def fmt(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f} s"


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summary(runs: list[Measurement]) -> dict[str, Any]:
    """Median over the runs that finished; how many stalled."""
    done = [r.all_partitions_s for r in runs if r.all_partitions_s is not None]
    firsts = [r.first_partition_s for r in runs if r.first_partition_s is not None]
    return {
        "all_partitions_s": median(done),
        "first_partition_s": median(firsts),
        "runs": len(runs),
        "stalled_runs": len(runs) - len(done),
    }


def cell(stats: dict[str, Any]) -> str:
    text = f"{fmt(stats['all_partitions_s'])} (first {fmt(stats['first_partition_s'])})"
    if stats["stalled_runs"]:
        text += f", {stats['stalled_runs']} of {stats['runs']} runs stalled"
    return text


def table(rows: list[dict[str, Any]], timing: Timing, join_s: float) -> str:
    lines = [
        "| case | membership | worker: all partitions (first) | raw aiokafka: all (first) "
        "| worker / raw |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        ours, raw = row["worker"], row["raw"]
        ratio = (
            f"{ours['all_partitions_s'] / raw['all_partitions_s']:.2f}"
            if ours["all_partitions_s"] and raw["all_partitions_s"]
            else "-"
        )
        lines.append(f"| {row['case']} | {row['mode']} | {cell(ours)} | {cell(raw)} | {ratio} |")
    steady = [r["steady_s"] for r in rows if r["steady_s"] is not None]
    lines.append(
        f"\nsession timeout {timing.session_timeout_s:g} s, heartbeat "
        f"{timing.heartbeat_interval_s:g} s, rebalance timeout {timing.rebalance_timeout_s:g} s, "
        f"{timing.partitions} partitions; medians of the runs that finished. The same round on "
        f"a healthy group takes {fmt(median(steady))}; a fresh raw AIOKafkaConsumer joins its "
        f"group in {join_s:.2f} s."
    )
    return "\n".join(lines)


def state_key(run: dict[str, Any]) -> str:
    return f"{run['mode']} {run['signal']}"


def state_table(big: dict[str, Any]) -> str:
    """One line per big-state restart, beside the raw member's restart with that signal."""
    shape = big["shape"]
    lines = [
        f"Big state: {shape['entries']:,} dedup entries, {shape['targets']:,} status rows "
        f"({big['census']['dedup_entries']:,} and {big['census']['rows']['status']:,} found on "
        "the changelogs)",
        "",
        "| store | membership | signal | worker: all partitions (first) | exited | ready "
        "| changelog records replayed | raw aiokafka | worker / raw | < 15 s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in big["runs"]:
        raw = big["raw"][state_key(run)]["all_partitions_s"]
        ours = run["all_partitions_s"]
        ratio = f"{ours / raw:.1f}" if ours and raw else "-"
        stalled = f", partitions {run['stalled']} stalled" * bool(run["stalled"])
        lines.append(
            f"| {run['store']} | {run['mode']} | {run['signal']} | {fmt(ours)} "
            f"(first {fmt(run['first_partition_s'])}{stalled}) | {fmt(run['exit_s'])} "
            f"| {fmt(run['ready_s'])} | {run['replayed']:,} of {run['changelog_records']:,} "
            f"| {fmt(raw)} | {ratio} | {'yes' if ours is not None and ours < 15 else 'no'} |"
        )
    return "\n".join(lines)


def state_figures(big: dict[str, Any]) -> list[Figure]:
    shape = big["shape"]
    return [
        Figure(f"big state ({shape['entries']:,} entries, {shape['targets']:,} status rows), "
               f"{run['store']}, {run['signal']} restart ({run['mode']}), consuming again",
               run["all_partitions_s"], big["raw"][state_key(run)]["all_partitions_s"], "s",
               higher_is_better=False)
        for run in big["runs"]
        if run["all_partitions_s"] and big["raw"][state_key(run)]["all_partitions_s"]
    ]  # fmt: skip


async def run_all(args: argparse.Namespace) -> None:
    defaults = ServiceSettings().kafka
    timing = Timing(
        args.session_timeout_s or defaults.session_timeout_s,
        args.heartbeat_interval_s or defaults.heartbeat_interval_s,
        args.rebalance_timeout_s or defaults.rebalance_timeout_s,
        args.partitions,
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-restart-"))
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # new topics: NotLeader retries
    clusters = sorted(
        c for names in clusters_per_partition(timing.partitions).values() for c in names
    )
    rows: list[dict[str, Any]] = []
    async with broker() as bootstrap, FleetSimulator(clusters) as fleet:
        join_s = await raw_join(bootstrap, timing)
        print(f"raw AIOKafkaConsumer group join: {join_s:.2f} s", flush=True)
        for case in [c for c in args.cases if c in PLANS]:
            for mode in args.modes:
                ours: list[Measurement] = []
                raws: list[Measurement] = []
                for _ in range(args.repeat):
                    run = await measure_pipeline(
                        bootstrap, fleet.fleet_path, workdir, timing, case, mode
                    )
                    raw = await measure_raw(bootstrap, workdir, timing, case, mode)
                    ours.append(run)
                    raws.append(raw)
                    stalled = f", partitions {run.stalled} stalled ({run.logs})" * bool(run.stalled)
                    print(
                        f"{case:9} {mode:8} worker {fmt(run.all_partitions_s)} "
                        f"(first {fmt(run.first_partition_s)}{stalled}), "
                        f"raw {fmt(raw.all_partitions_s)}",
                        flush=True,
                    )
                steady = [r.steady_s for r in ours if r.steady_s is not None]
                rows.append(
                    {
                        "case": case,
                        "mode": mode,
                        "worker": summary(ours),
                        "raw": summary(raws),
                        "steady_s": median(steady),
                        "runs": [asdict(r) for r in ours + raws],
                    }
                )
        if BIG_STATE in args.cases:
            shape = bigstate.shape_of(args)
            big = await measure_big_state(
                bootstrap,
                fleet.fleet_path,
                workdir,
                timing,
                args.modes,
                shape,
                args.stores,
                args.fill_dir,
            )
    print()
    if rows:
        print(table(rows, timing, join_s))
    figures = [
        Figure(f"{row['case']} ({row['mode']}), all partitions served again",
               row["worker"]["all_partitions_s"], row["raw"]["all_partitions_s"], "s",
               higher_is_better=False)
        for row in rows
        if row["worker"]["all_partitions_s"] and row["raw"]["all_partitions_s"]
    ]  # fmt: skip
    details: dict[str, Any] = {
        "measured": "seconds from the signal until every partition's fresh error has a "
        "Completed recovery (worker) or its ping is echoed (raw aiokafka)",
        "timing": asdict(timing),
        "raw_group_join_s": join_s,
        "rows": rows,
        "workdir": str(workdir),
    }
    if BIG_STATE in args.cases:
        print(f"\n{state_table(big)}")
        figures += state_figures(big)
        details["big_state"] = big
    written = report.write("restart", figures, details)
    print(f"\nwritten to {written}; worker logs in {workdir}")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.restart", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command")
    member = sub.add_parser("raw-member", help="(internal) the raw aiokafka baseline member")
    member.add_argument("--bootstrap", required=True)
    member.add_argument("--group", required=True)
    member.add_argument("--ping", required=True)
    member.add_argument("--pong", required=True)
    member.add_argument("--instance-id")
    for flag in ("--session-timeout-s", "--heartbeat-interval-s", "--rebalance-timeout-s"):
        member.add_argument(flag, type=float, required=True)
    parser.add_argument(
        "--cases", nargs="+", choices=CASES, default=list(PLANS),
        help=f"default: all but {BIG_STATE} (which fills a worker first: minutes)",
    )  # fmt: skip
    bigstate.add_shape_arguments(parser, f"{BIG_STATE}: ")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument(
        "--stores", nargs="+", choices=STORES, default=list(STORES),
        help=f"{BIG_STATE}: the stores restarted (the fill is always RocksDB's; memory replays "
        "every changelog, minutes at the full shape)",
    )  # fmt: skip
    parser.add_argument(
        "--fill-dir", type=Path,
        help=f"{BIG_STATE}: keep the fill here, or measure the fill kept here again (the "
        "broker must be the same: KAFKA_BOOTSTRAP_SERVERS of one that outlives the run)",
    )  # fmt: skip
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=1, help="runs per case (medians)")
    parser.add_argument(
        "--session-timeout-s", type=float, help="default: the worker's (kafka.session_timeout_s)"
    )
    parser.add_argument("--heartbeat-interval-s", type=float)
    parser.add_argument("--rebalance-timeout-s", type=float)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.command == "raw-member":
        asyncio.run(raw_member(args))
    else:
        asyncio.run(run_all(args))


if __name__ == "__main__":
    main()
