"""A storm of N errors over K targets starts K recoveries; every error is accounted for."""

import random
import time
from dataclasses import replace
from pathlib import Path

import pytest

from schemas.records import RecoveryResult, RecoveryState
from strategies.simulator import FleetSimulator
from streams.testing.harness import PipelineEnv, WorkerProcess, emit, unreachable, wait_for_table

pytestmark = pytest.mark.kafka

TARGETS = 200
ERRORS = 20_000
RESENDS = 500  # exact re-sends (same event id), as a retrying emitter produces


async def test_storm_starts_one_recovery_per_target(kafka_bootstrap: str, tmp_path: Path) -> None:
    names = [f"storm-{i}" for i in range(TARGETS)]
    rng = random.Random(20261128)
    errors = [unreachable(name) for name in names]
    errors += [unreachable(rng.choice(names)) for _ in range(ERRORS - TARGETS - RESENDS)]
    errors += [replace(e) for e in rng.sample(errors, RESENDS)]
    rng.shuffle(errors)
    unique = len({e.event_id for e in errors})
    assert (len(errors), unique) == (ERRORS, ERRORS - RESENDS)

    async with FleetSimulator(names) as fleet:
        env = PipelineEnv(kafka_bootstrap, fleet.fleet_path, tmp_path, partitions=6)
        worker = WorkerProcess(env.config("storm"), tmp_path / "storm.log").start()
        try:
            await worker.ready()
            started = time.monotonic()
            await emit(env.bootstrap, env.topics["errors"], errors)

            def settled(rows: dict[str, RecoveryResult]) -> bool:
                table = list(rows.values())
                return (
                    len(table) >= TARGETS
                    and all(r.state.is_terminal for r in table)
                    and sum(r.merged_count for r in table) >= unique - TARGETS
                )

            rows = await wait_for_table(env, settled, within_s=240, workers=(worker,))
            elapsed = time.monotonic() - started
        finally:
            worker.stop()

    assert len(rows) == TARGETS, "one recovery per target, not one per error"
    assert {r.target for r in rows.values()} == set(names)
    assert {r.state for r in rows.values()} == {RecoveryState.COMPLETED}
    merged = sum(r.merged_count for r in rows.values())
    assert merged + TARGETS == unique, "every unique error either started or merged"
    print(f"storm: {ERRORS} errors over {TARGETS} targets settled in {elapsed:.1f}s")
