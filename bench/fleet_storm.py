"""Storm mode and the fleet cap at scale: a simulated fleet (2,000 clusters by default), 80%
of it down at once, three workers.

Run from the repository root: ``.venv/bin/python -m bench.fleet_storm [--clusters N]``.
Uses ``KAFKA_BOOTSTRAP_SERVERS`` when set, else starts the project's local broker.

It reports the time from the first error emitted to the storm's one escalation (beside the
storm window it must fit in), the most clusters under recovery at once over the whole run
(beside the cap), how many escalations the storm caused (one is right), and the time from
the fleet's return to the last held recovery's ending (the window and cooldown included).
The raw baseline, on the same broker after the workers stop: the time raw aiokafka takes to
consume and produce the same errors (bench/raw.py), the floor under the first figure.
"""

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import report
from bench.raw import encoded, raw_passthrough
from bench.report import Figure
from schemas.records import RecoveryResult, RecoveryState
from strategies.simulator import FleetSimulator
from strategies.simulator.faults import FaultMode
from streams.admission.book import STORM_REASON
from streams.testing.harness import (
    PipelineEnv,
    WorkerProcess,
    broker,
    emit,
    status_table,
    unreachable,
)
from streams.testing.overlap import most_at_once

WORKERS = 3


async def run(args: argparse.Namespace) -> None:
    names = [f"fleet-{i:04d}" for i in range(args.clusters)]
    down = names[: int(len(names) * 0.8)]
    admission = {
        "enabled": True, "max_clusters": str(args.cap), "storm_window_s": args.window,
        "storm_cooldown_s": args.cooldown,
    }  # fmt: skip
    async with broker() as bootstrap, FleetSimulator(names) as fleet:
        workdir = Path(tempfile.mkdtemp(prefix="tmc-fleet-storm-"))
        env = PipelineEnv(bootstrap, fleet.fleet_path, workdir, partitions=6)
        workers = [
            WorkerProcess(
                env.config(f"w{i}", admission=admission, execution={"max_concurrent": args.cap}),
                workdir / f"w{i}.log",
            ).start()
            for i in range(WORKERS)
        ]
        try:
            for worker in workers:
                await worker.ready(within_s=180)
            await asyncio.gather(*(fleet.admin.set_fault(n, FaultMode.DOWN) for n in down))
            first_error = time.time()
            await emit(bootstrap, env.topics["errors"], [unreachable(n) for n in down])
            storm = await wait_rows(env, lambda rows: escalated(rows) != [], args.timeout)
            (escalation,) = escalated(storm)[:1]
            await asyncio.gather(*(fleet.admin.set_fault(n, FaultMode.HEALTHY) for n in down))
            back = time.time()
            rows = await wait_rows(
                env,
                lambda rows: len(rows) == len(down) and all(r.state.is_terminal for r in rows),
                args.timeout,
            )  # fmt: skip
            resumed_s = max(r.end_time.timestamp() for r in rows if r.end_time) - back
        finally:
            for worker in workers:
                worker.stop()
        raw_s = len(down) / await raw_passthrough(bootstrap, encoded(map(unreachable, down)))
    assert escalation.end_time is not None
    to_escalation_s = escalation.end_time.timestamp() - first_error
    storm_escalations = len(escalated(rows))
    most = most_at_once(rows)
    figures = [
        Figure(f"first error to the storm's escalation ({len(down)}/{len(names)} down), "
               "beside raw aiokafka moving the same errors", to_escalation_s, raw_s, "s",
               higher_is_better=False),
        Figure("the same, beside the storm window it must fit in", to_escalation_s,
               args.window, "s", higher_is_better=False),
        Figure("most clusters under recovery at once (cap beside it)", most, args.cap,
               "clusters", higher_is_better=False),
        Figure("escalations in the storm (one is right)", storm_escalations, 1, "records",
               higher_is_better=False),
        Figure("fleet back to the last held recovery ended (window + cooldown incl.)",
               resumed_s, args.window + args.cooldown, "s", higher_is_better=False),
    ]  # fmt: skip
    details = {
        "clusters": len(names), "down": len(down), "workers": WORKERS, "cap": args.cap,
        "window_s": args.window, "cooldown_s": args.cooldown,
        "states": {s.value: sum(r.state is s for r in rows) for s in RecoveryState},
        "escalation_reason": escalation.transitions[-1].reason,
    }  # fmt: skip
    print(report.table([report.write("fleet_storm", figures, details)]))


def escalated(rows: list[RecoveryResult]) -> list[RecoveryResult]:
    return [
        r for r in rows
        if r.state is RecoveryState.ESCALATED
        and (r.transitions[-1].reason or "").startswith(STORM_REASON)
    ]  # fmt: skip


async def wait_rows(
    env: PipelineEnv, done: Callable[[list[RecoveryResult]], bool], timeout_s: float
) -> list[RecoveryResult]:
    deadline = time.monotonic() + timeout_s
    while True:
        rows = list((await status_table(env)).values())
        if done(rows):
            return rows
        if time.monotonic() > deadline:
            raise TimeoutError(f"not done within {timeout_s}s: {len(rows)} rows")
        await asyncio.sleep(1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clusters", type=int, default=2000)
    parser.add_argument("--cap", type=int, default=50, help="admission.max_clusters")
    parser.add_argument("--window", type=float, default=60.0, help="storm_window_s")
    parser.add_argument("--cooldown", type=float, default=10.0, help="storm_cooldown_s")
    parser.add_argument("--timeout", type=float, default=900.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
