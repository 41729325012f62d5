"""Faust's own floor: a worker-configured Faust agent that does nothing, or only forwards each
record, beside the raw aiokafka passthrough in the same run.

Every error the pipeline reads is one Faust event, so what an empty agent costs per record
bounds any pipeline figure measured against raw aiokafka (bench.storm). Each agent runs in a
worker process built by ``streams.app.create_app``, on uvloop like the worker; its figures are
records/s from the first record produced to the last committed, and its CPU per record.

    python -m bench.faust_floor [--records 20000] [--repeat 1]
"""

import argparse
import asyncio
import random
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from aiokafka.admin import NewTopic
from faust.types import StreamT

from bench import report
from bench.cpu import cpu_seconds
from bench.raw import PARTITIONS, Records, encoded, produce_all, raw_passthrough
from bench.report import Figure
from bench.storm import caught_up, end_offsets
from streams.app import create_app
from streams.config import ServiceSettings
from streams.pipeline import run_app
from streams.testing.harness import broker, create_topics, unreachable

AGENTS = ("noop", "forward")


@dataclass(frozen=True)
class FloorRun:
    agent: str
    rate: float  # records/s, produced to committed
    cpu_ms: float  # the agent process's CPU per record


def run_agent(bootstrap: str, source: str, sink: str, agent: str) -> None:
    """The agent process: ``create_app``'s settings, an agent on ``source``, until SIGTERM."""
    settings = ServiceSettings.model_validate({
        "store": "memory",
        "data_dir": tempfile.mkdtemp(prefix="bench-floor-"),
        "kafka": {"bootstrap_servers": bootstrap, "group_id": f"floor-{source}"},
        "topics": {"partitions": PARTITIONS, "replication_factor": 1},
    })  # fmt: skip
    app = create_app(settings)
    out = app.topic(sink)

    async def consume(stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            if agent == "forward":
                await out.send(key=event.key, value=event.value)

    app.agent(app.topic(source), name="floor")(consume)
    run_app(app, loglevel="warning")


def start_agent(bootstrap: str, source: str, sink: str, agent: str) -> subprocess.Popen[bytes]:
    """This module again, as the agent process (output in a temp file)."""
    command = [sys.executable, "-m", "bench.faust_floor", "--agent", agent,
               "--bootstrap", bootstrap, "--source", source, "--sink", sink]  # fmt: skip
    log = Path(tempfile.gettempdir()) / f"bench-floor-{source}.log"
    with log.open("w") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


async def measure(bootstrap: str, records: Records, agent: str) -> FloorRun:
    """One agent process: a few warm-up records (joined and committing), then the clock."""
    run = uuid.uuid4().hex[:8]
    source, sink = f"floor.in.{run}", f"floor.out.{run}"
    await create_topics(bootstrap, [NewTopic(t, PARTITIONS, 1) for t in (source, sink)])
    proc = start_agent(bootstrap, source, sink, agent)
    group = f"floor-{source}"
    try:
        warmup = [(f"warm-{p}".encode(), b"") for p in range(PARTITIONS * 4)]
        await produce_all(bootstrap, source, warmup)
        await caught_up(bootstrap, group, source, await end_offsets(bootstrap, source))
        cpu_before = cpu_seconds(proc.pid)
        started = time.perf_counter()
        await produce_all(bootstrap, source, records)
        await caught_up(bootstrap, group, source, await end_offsets(bootstrap, source))
        rate = len(records) / (time.perf_counter() - started)
        cpu_ms = (cpu_seconds(proc.pid) - cpu_before) * 1e3 / len(records)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return FloorRun(agent, rate, cpu_ms)


async def main(args: argparse.Namespace) -> None:
    rng = random.Random(7)
    records = encoded(unreachable(f"storm-{rng.randrange(200)}") for _ in range(args.records))
    figures: list[Figure] = []
    runs: list[FloorRun] = []
    async with broker() as bootstrap:
        for _ in range(args.repeat):
            raw = await raw_passthrough(bootstrap, records)
            print(f"raw aiokafka passthrough: {raw:,.0f} records/s", flush=True)
            for agent in AGENTS:
                done = await measure(bootstrap, records, agent)
                runs.append(done)
                figures.append(Figure(f"faust {agent} agent", done.rate, raw, "records/s"))
                print(
                    f"faust {agent} agent: {done.rate:,.0f} records/s ({done.rate / raw:.3f}x "
                    f"raw), {done.cpu_ms:.3f} ms CPU per record",
                    flush=True,
                )
    written = report.write("faust_floor", figures, {"runs": [asdict(run) for run in runs]})
    print(f"\nwritten to {written}")


def cli() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.faust_floor", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--agent", choices=AGENTS, help=argparse.SUPPRESS)
    for name in ("--bootstrap", "--source", "--sink"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.agent:
        sys.argv = sys.argv[:1]  # the worker parses the command line again
        run_agent(args.bootstrap, args.source, args.sink, args.agent)
    else:
        asyncio.run(main(args))


if __name__ == "__main__":
    cli()
