"""New recoveries: seconds from an error's emit to its Completed recovery, at steady rates.

Run from the repository root: ``.venv/bin/python -m bench.latency [--rates R ...]``.
Uses ``KAFKA_BOOTSTRAP_SERVERS`` when set, else starts the project's local broker.

Every error is its own target (bench/noop_worker.py: its strategy does nothing and targets
the event id), so each one starts a recovery: the cost of a new recovery, not of a merge.
Errors go out through :class:`ErrorEmitter` at a steady rate, stepped up (``--rates``, each
for ``--seconds``); a step ends when all its recoveries have completed (or ``--grace`` after
its last emit), and the steps stop once p99 passes 1 s or a recovery never completes (the
worker cannot keep up). Each error is timed from the emit call to its Completed record, read
from the results topic by a plain consumer.

Baselines from the same run, on the same broker: before each worker step, the same step
through a bare aiokafka consume->produce process (bench.restart's raw member, echoing each
error to another topic; same emitter, same group timeouts), and the raw passthrough
throughput that bench.storm compares with (bench/raw.py).

Results: a table on stdout and ``bench/results/latency.json``: p99 at 200 errors/s (goal
< 250 ms) and the highest rate whose p99 stays within 1 s (goal >= 500/s).
"""

import argparse
import asyncio
import contextlib
import itertools
import math
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.admin import NewTopic

from bench import report
from bench.cpu import cpu_seconds
from bench.noop_worker import NoopFast
from bench.raw import PARTITIONS, encoded, raw_passthrough
from bench.report import Figure
from bench.restart import Process, ResultWatch, settle_members, stop, wait_until
from streams.clients import ErrorEmitter
from streams.config import KafkaSettings, load_service_settings
from streams.testing.harness import ERRORS, PipelineEnv, broker, create_topics, unreachable
from streams.topics import ensure_topics, topic_plan

RATES = [100.0, 200.0, 300.0, 500.0, 700.0, 1000.0]
REPORTED_RATE = 200.0  # errors/s at which the p99 goal is set
LIMIT_S = 1.0  # the p99 the highest sustainable rate must hold
CLUSTERS = 50  # errors spread over this many clusters, so over every partition
#: Errors/s and seconds before the clock runs, through each lane alike: connections and
#: metadata, and the broker's first index entries. Kafka indexes a partition's log after its
#: first 4 KiB (``log.index.interval.bytes``), and that first entry faults in a page of a
#: fresh memory-mapped index file. On this project's VMs that fault held the broker's request
#: handler for up to 0.7 s per produce (seen in its request log and a thread dump). With 50
#: errors of warm-up, most of a fresh worker's ~150 partitions crossed 4 KiB in the first
#: step, whose p99 then read 1-2.5 s where the next step read 100 ms. A long-lived cluster's
#: partitions are past that point, so the benchmark gets them there before it measures.
WARM_UP = (100.0, 5.0)


@dataclass(frozen=True)
class Lane:
    """A path from the emitter to a watch that notes when each event id came back."""

    name: str
    emitter: ErrorEmitter
    back: dict[str, float]  # event id -> time.monotonic() it came back
    process: Process


@dataclass(frozen=True)
class Step:
    """One rate held for a while: each error's seconds from emit to back (inf: never)."""

    rate: float
    latencies: list[float]
    emitter_lag_s: float  # how far behind its schedule the emitter fell at worst
    cpu_s: float  # CPU the lane's process used meanwhile: robust to a busy machine

    @property
    def completed(self) -> int:
        return sum(math.isfinite(s) for s in self.latencies)

    def ms(self, q: float) -> float:
        """The nearest-rank percentile in ms (a recovery that never completed counts as
        slowest, so a worker that falls behind cannot look fast)."""
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] * 1000

    @property
    def cpu_ms(self) -> float:
        """CPU per error, in ms."""
        return self.cpu_s * 1000 / len(self.latencies)

    @property
    def held(self) -> bool:
        return self.completed == len(self.latencies) and self.ms(99) <= LIMIT_S * 1000

    def summary(self) -> dict[str, float]:
        return {"rate": self.rate, "sent": len(self.latencies), "completed": self.completed,
                "p50_ms": self.ms(50), "p95_ms": self.ms(95), "p99_ms": self.ms(99),
                "emitter_lag_s": self.emitter_lag_s, "cpu_ms_per_error": self.cpu_ms}  # fmt: skip


async def step(lane: Lane, rate: float, seconds: float, grace_s: float) -> Step:
    """Emit ``rate`` errors/s for ``seconds``, then wait until each came back (or ``grace_s``)."""
    sent: dict[str, float] = {}
    sends = []
    lag = 0.0
    assert lane.process.proc is not None
    cpu = cpu_seconds(lane.process.proc.pid)
    start = time.monotonic()
    for i in range(max(1, round(rate * seconds))):
        due = start + i / rate
        if (wait := due - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        error = unreachable(f"lat-{i % CLUSTERS}")
        assert error.event_id is not None
        now = time.monotonic()
        lag = max(lag, now - due)
        sent[error.event_id] = now
        sends.append(asyncio.create_task(lane.emitter.emit(error)))
    await asyncio.gather(*sends)
    with contextlib.suppress(TimeoutError):  # what never came back counts as slowest
        await wait_until(
            lambda: sent.keys() <= lane.back.keys(), grace_s, lane.name, [lane.process]
        )
    latencies = [lane.back.get(event_id, math.inf) - t for event_id, t in sent.items()]
    return Step(rate, latencies, lag, cpu_seconds(lane.process.proc.pid) - cpu)


async def warm_up(lane: Lane, grace_s: float) -> None:
    """A few errors before the clock runs; fails with the process's log if they never return."""
    warm = await step(lane, *WARM_UP, grace_s)
    if warm.completed < len(warm.latencies):
        raise RuntimeError(f"{lane.name}: warm-up errors never came back\n{lane.process.tail()}")


@asynccontextmanager
async def worker_lane(env: PipelineEnv, config: Path) -> AsyncIterator[Lane]:
    """The no-op worker, an emitter to its errors topic and a watch of its results."""
    settings = load_service_settings(config)
    # The worker command creates its topics; the bare service this worker runs does not.
    await ensure_topics(env.bootstrap, topic_plan(settings.topics, [NoopFast.name]))
    argv = [sys.executable, "-m", "bench.noop_worker", "-c", str(config)]
    worker = Process(argv, env.workdir / "noop-worker.log").start()
    ready = settings.ready_file
    assert ready is not None
    try:
        await wait_until(ready.exists, 120, "the no-op worker ready", [worker])
        async with (
            ResultWatch(env.bootstrap, env.topics["results"], PARTITIONS) as watch,
            ErrorEmitter(env.bootstrap, name="bench", topic=env.topics["errors"]) as emitter,
        ):
            yield Lane("worker", emitter, watch.completed, worker)
    finally:
        await stop([worker])


class EchoWatch(ResultWatch):
    """Errors echoed back by the raw member, noted by event id as results are."""

    def on_record(self, value: bytes, now: float) -> None:
        if event_id := ERRORS.decode(value).event_id:
            self.completed.setdefault(event_id, now)


@asynccontextmanager
async def raw_lane(bootstrap: str, kafka: KafkaSettings, workdir: Path) -> AsyncIterator[Lane]:
    """A bare aiokafka member echoing the errors topic to another, with the worker's timeouts."""
    prefix = f"rawlat{uuid.uuid4().hex[:8]}"
    ping, pong, group = f"{prefix}.ping", f"{prefix}.pong", f"{prefix}-group"
    await create_topics(bootstrap, [NewTopic(t, PARTITIONS, 1) for t in (ping, pong)])
    argv = [
        sys.executable, "-m", "bench.restart", "raw-member", "--bootstrap", bootstrap,
        "--group", group, "--ping", ping, "--pong", pong,
        "--session-timeout-s", str(kafka.session_timeout_s),
        "--heartbeat-interval-s", str(kafka.heartbeat_interval_s),
        "--rebalance-timeout-s", str(kafka.rebalance_timeout_s),
    ]  # fmt: skip
    member = Process(argv, workdir / "raw-member.log").start()
    try:
        await settle_members(bootstrap, group, 1)
        async with (
            EchoWatch(bootstrap, pong, PARTITIONS) as watch,
            ErrorEmitter(bootstrap, name="bench", topic=ping) as emitter,
        ):
            yield Lane("raw aiokafka", emitter, watch.completed, member)
    finally:
        await stop([member])


def line(step: Step) -> str:
    return (
        f"{step.completed:,}/{len(step.latencies):,} back, p50 {step.ms(50):,.0f} "
        f"p95 {step.ms(95):,.0f} p99 {step.ms(99):,.0f} ms, CPU {step.cpu_ms:.2f} ms each"
    )


async def climb(
    ours: Lane, raw: Lane, rates: list[float], seconds: float, grace_s: float
) -> list[tuple[Step, Step]]:
    """Each rate through the raw member, then through the worker, until the worker's p99
    passes the limit or it cannot keep up (but never before the reported rate has run)."""
    for lane in (raw, ours):
        await warm_up(lane, grace_s)
    steps = []
    for rate in rates:
        raw_step = await step(raw, rate, seconds, grace_s)
        our_step = await step(ours, rate, seconds, grace_s)
        steps.append((our_step, raw_step))
        lag = max(our_step.emitter_lag_s, raw_step.emitter_lag_s)
        print(
            f"{rate:6,.0f}/s for {seconds:g} s: worker {line(our_step)} | raw {line(raw_step)} "
            f"| p99 {our_step.ms(99) / raw_step.ms(99):.1f}x raw | emitter lag <= {lag:.2f} s",
            flush=True,
        )
        if not our_step.held and rate >= REPORTED_RATE:
            break
    return steps


def verdict(steps: list[tuple[Step, Step]], passthrough: float) -> tuple[list[Figure], str]:
    """The two goals as figures beside their raw baselines, and a sentence for people."""
    held = [ours.rate for ours, _ in itertools.takewhile(lambda pair: pair[0].held, steps)]
    top = held[-1] if held else 0.0
    if len(held) < len(steps):
        failed = steps[len(held)][0].rate
        where = f"p99 passes {LIMIT_S:g} s between {top:,.0f}/s and {failed:,.0f}/s"
    else:
        where = f"p99 stayed within {LIMIT_S:g} s up to {top:,.0f}/s, the last step run"
    figures = [
        Figure(f"new recoveries, p99 emit->Completed at {REPORTED_RATE:g}/s (goal < 250 ms) "
               "vs raw echo", ours.ms(99), raw.ms(99), "ms", higher_is_better=False)
        for ours, raw in steps
        if ours.rate == REPORTED_RATE
    ]  # fmt: skip
    figures.append(
        Figure(f"new recoveries, highest rate with p99 <= {LIMIT_S:g} s (goal >= 500/s) "
               "vs raw passthrough", top, passthrough, "errors/s")
    )  # fmt: skip
    return figures, where


def table(steps: list[tuple[Step, Step]]) -> str:
    rows = [
        "| errors/s | completed | worker p50 / p95 / p99 ms | raw echo p50 / p95 / p99 ms "
        "| worker p99 ÷ raw p99 | CPU ms per error: worker / raw echo |",
        "|---|---|---|---|---|---|",
    ]
    for ours, raw in steps:
        rows.append(
            f"| {ours.rate:,.0f} | {ours.completed:,}/{len(ours.latencies):,} "
            f"| {ours.ms(50):,.0f} / {ours.ms(95):,.0f} / {ours.ms(99):,.0f} "
            f"| {raw.ms(50):,.0f} / {raw.ms(95):,.0f} / {raw.ms(99):,.0f} "
            f"| {ours.ms(99) / raw.ms(99):,.1f} | {ours.cpu_ms:.2f} / {raw.cpu_ms:.2f} |"
        )
    return "\n".join(rows)


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    async with broker() as bootstrap:
        records = encoded(unreachable(f"lat-{i % CLUSTERS}") for i in range(args.raw_records))
        passthrough = await raw_passthrough(bootstrap, records)
        print(f"raw aiokafka passthrough: {passthrough:,.0f} records/s", flush=True)
        env = PipelineEnv(bootstrap, workdir / "no-fleet.yaml", workdir, partitions=PARTITIONS)
        config = env.config(
            "noop", execution={"max_concurrent": args.max_concurrent},
            ready_file=str(workdir / "noop.ready"),
        )  # fmt: skip
        kafka = load_service_settings(config).kafka
        async with worker_lane(env, config) as ours, raw_lane(bootstrap, kafka, workdir) as raw:
            steps = await climb(ours, raw, args.rates, args.seconds, args.grace)
    figures, where = verdict(steps, passthrough)
    print(f"\n{table(steps)}\n\n{where}; raw aiokafka passthrough {passthrough:,.0f} records/s")
    details: dict[str, Any] = {
        "measured": "ms from ErrorEmitter.emit to the Completed record on the results topic "
        "(worker) or the echoed record (raw aiokafka member); a recovery that never came "
        "back within the grace counts as infinitely slow",
        "verdict": where,
        "raw_passthrough_records_per_s": passthrough,
        "settings": {"seconds_per_step": args.seconds, "grace_s": args.grace,
                     "clusters": CLUSTERS, "partitions": PARTITIONS,
                     "max_concurrent": args.max_concurrent},
        "steps": [{"worker": ours.summary(), "raw": raw.summary()} for ours, raw in steps],
        "workdir": str(workdir),
    }  # fmt: skip
    written = report.write("latency", figures, details)
    print(f"written to {written}; logs in {workdir}")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.latency", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rates", type=float, nargs="+", default=RATES, help="errors/s steps")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each step emits")
    parser.add_argument(
        "--grace", type=float, default=15.0,
        help="seconds after a step's last emit that its recoveries may take to complete",
    )  # fmt: skip
    parser.add_argument("--max-concurrent", type=int, default=100, help="execution setting")
    parser.add_argument("--raw-records", type=int, default=20_000, help="passthrough size")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
