"""Run the demo: ``python -m streams.demo`` (exit 0 when every incident ended as expected)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.live import Live

from schemas.records import RecoveryResult
from strategies.simulator import FleetSimulator
from streams.clients.emitter import ErrorEmitter
from streams.demo.board import live_table, summary_table, verdicts
from streams.demo.incidents import Incident, fleet, incidents
from streams.testing.brokers import ProvidedBroker, local_broker
from streams.testing.harness import PipelineEnv, WorkerProcess, status_table

#: How long the incident may take to play out before the demo gives up on it.
DEADLINE_S = 120.0
#: After every incident has ended, how long merges still arriving are waited for.
SETTLE_S = 2.0


def _broker() -> ProvidedBroker:
    """The local default broker, or the one ``KAFKA_BOOTSTRAP_SERVERS`` names."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        return ProvidedBroker(configured, "KAFKA_BOOTSTRAP_SERVERS", None, lambda: None)
    return local_broker()


def _ended(script: list[Incident], rows: dict[str, RecoveryResult]) -> bool:
    ended = {(r.strategy, r.target) for r in rows.values() if r.state.is_terminal}
    return all((incident.strategy, incident.target) in ended for incident in script)


async def _watch(
    env: PipelineEnv, script: list[Incident], console: Console
) -> list[RecoveryResult]:
    started = time.monotonic()
    rows: dict[str, RecoveryResult] = {}
    settle_at: float | None = None
    with Live(live_table([], 0), console=console, refresh_per_second=4) as live:
        while time.monotonic() - started < DEADLINE_S:
            rows = await status_table(env)
            live.update(live_table(rows.values(), time.monotonic() - started))
            if settle_at is None and _ended(script, rows):
                settle_at = time.monotonic() + SETTLE_S
            if settle_at is not None and time.monotonic() >= settle_at:
                break
            await asyncio.sleep(0.5)
    return list(rows.values())


async def play(console: Console, broker: ProvidedBroker, workdir: Path) -> bool:
    """The incident on ``broker``, with the fleet and the worker under ``workdir``; True when
    every incident ended as expected."""
    script = incidents()
    async with FleetSimulator(fleet(), workdir=workdir / "fleet") as sim:
        console.print(f"fleet simulator: {len(sim.clusters)} clusters on {sim.url}")
        env = PipelineEnv(broker.bootstrap, sim.fleet_path, workdir, partitions=6)
        worker = WorkerProcess(env.config("demo"), workdir / "worker.log").start()
        try:
            with console.status("starting a worker (joins its group, creates its topics)"):
                await worker.ready()
            for incident in script:
                await incident.inject(sim)
            errors = [error for incident in script for error in incident.errors]
            async with ErrorEmitter(
                broker.bootstrap, name="demo", topic=env.topics["errors"]
            ) as out:
                for error in errors:
                    await out.emit(error)
            console.print(f"emitted {len(errors)} errors for {len(script)} incidents")
            rows = await _watch(env, script, console)
        finally:
            worker.stop()
    console.print(summary_table(rows))
    table, passed = verdicts(script, rows)
    console.print(table)
    if not passed:
        console.print(
            f"[red]not every incident ended as expected[/]; worker log:\n{worker.tail(30)}"
        )
    return passed


def main() -> int:
    console = Console()
    workdir = Path(tempfile.mkdtemp(prefix="tmc-demo-"))
    try:
        with console.status("starting the local Kafka broker"):
            broker = _broker()
        console.print(f"broker: {broker.source}")
        try:
            passed = asyncio.run(play(console, broker, workdir))
        finally:
            broker.stop()
    except Exception as exc:
        console.print(f"[red]error:[/] {type(exc).__name__}: {exc}")
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
