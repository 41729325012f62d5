"""An exact resend (same event id, a new record) is only counted: within the dedup TTL it adds
no record to the results topic and no request, whenever it arrives, even before the recovery
it would have started has a row in the status table."""

import random
from dataclasses import replace
from pathlib import Path

import pytest

from schemas.records import RecoveryResult, RecoveryState, TMCError
from strategies.simulator import FleetSimulator
from streams.testing.harness import PipelineEnv, WorkerProcess, emit, unreachable, wait_for_table
from tests.pipeline.test_crash_storm import published_by_id

pytestmark = pytest.mark.kafka

TARGETS = 200
UNIQUE = 6_000
RESENDS = 0.3
S = RecoveryState


def storm_with_resends(rng: random.Random, names: list[str]) -> list[TMCError]:
    """Every error, and for 30% of them a resend a few records later: a retrying emitter."""
    errors = [unreachable(name) for name in names]
    errors += [unreachable(rng.choice(names)) for _ in range(UNIQUE - len(names))]
    rng.shuffle(errors)
    out: list[TMCError] = []
    for error in errors:
        out.append(error)
        if rng.random() < RESENDS:
            out.insert(max(len(out) - rng.randrange(5), 0), replace(error))
    return out


async def test_resends_add_no_record_to_the_results_topic(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    names = [f"resend-{i}" for i in range(TARGETS)]
    storm = storm_with_resends(random.Random(20261201), names)
    resent = len(storm) - UNIQUE
    assert resent > UNIQUE * RESENDS * 0.8

    async with FleetSimulator(names) as fleet:
        env = PipelineEnv(kafka_bootstrap, fleet.fleet_path, tmp_path, partitions=6)
        worker = WorkerProcess(env.config("resends"), tmp_path / "resends.log").start()
        try:
            await worker.ready()
            await emit(env.bootstrap, env.topics["errors"], storm)

            def settled(rows: dict[str, RecoveryResult]) -> bool:
                return (
                    len(rows) >= TARGETS
                    and all(r.state.is_terminal for r in rows.values())
                    and sum(r.merged_count for r in rows.values()) >= UNIQUE - TARGETS
                )

            rows = await wait_for_table(env, settled, within_s=180, workers=(worker,))
        finally:
            worker.stop()
    published = await published_by_id(env)

    assert len(rows) == TARGETS
    assert sum(r.merged_count for r in rows.values()) == UNIQUE - TARGETS, "resends not merged"
    extra = {
        rid: [r.state.value for _, r in records]
        for rid, records in published.items()
        if [r.state for _, r in records] != [S.PENDING, S.IN_PROGRESS, S.COMPLETED]
    }
    assert not extra, f"{len(extra)} recoveries got extra records, e.g. {next(iter(extra.items()))}"
