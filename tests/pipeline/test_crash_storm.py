"""Workers die, join and leave in the middle of a storm; the storm's promises still hold.

SIGKILL the worker at random moments of a storm, several times, and check the promises:

- every recovery has exactly one terminal record on the results topic, and nothing after it;
- no recovery acted on its cluster after its terminal record existed (the fleet simulator
  keeps a wall-clock log of every write a strategy makes);
- every unique error either started its target's one recovery or merged into it, exactly.

The kill lands wherever it lands: between a result and its projection, between a dedup write
and its offset commit, mid-attempt. The seed is printed, so a failure can be replayed.

A restarted worker takes its predecessor's place under the same static member id, so the
kills rarely rebalance a worker that is reading. A second test does that on purpose: a worker
joins, then leaves, while the first reads a storm. Each rebalance stops the flow with fetched
records in hand and seeks back to the committed offsets; a record dropped there and never
fetched again would be acked over by the next record's gap, and never triaged.
"""

import asyncio
import os
import random
import re
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import pytest

from schemas.records import RecoveryResult, TMCError
from strategies.simulator import FleetSimulator
from strategies.simulator.faults import FaultMode
from streams.testing.harness import (
    ERRORS,
    RESULTS,
    PipelineEnv,
    WorkerProcess,
    emit,
    read_records,
    read_topic,
    status_table,
    unreachable,
    wait_for_table,
)
from streams.triage.rows import TargetClaim

pytestmark = pytest.mark.kafka

TARGETS = 40
WAVES = 4  # a kill after each wave but the last
PER_WAVE = 1_500
RESENDS = 0.1  # exact resends (same event id) within the storm
CHURN_CHUNKS = 60  # the churn storm is emitted in chunks, a pause apart, while workers churn
PER_CHUNK = 150


def storm(rng: random.Random, names: list[str], size: int) -> list[TMCError]:
    """``size`` errors on random targets, plus exact resends of some of them, shuffled."""
    errors = [unreachable(rng.choice(names)) for _ in range(size)]
    errors += [replace(e) for e in rng.sample(errors, int(size * RESENDS))]
    rng.shuffle(errors)
    return errors


def settled(targets: int, unique: int) -> Callable[[dict[str, RecoveryResult]], bool]:
    """Every target's recovery has ended and every unique error started or merged into one."""

    def check(rows: dict[str, RecoveryResult]) -> bool:
        return (
            len(rows) >= targets
            and all(r.state.is_terminal for r in rows.values())
            and sum(r.merged_count for r in rows.values()) + len(rows) >= unique
        )

    return check


async def published_by_id(env: PipelineEnv) -> dict[str, list[tuple[float, RecoveryResult]]]:
    """Every record on the results topic per recovery id, in topic order, with its time."""
    out: dict[str, list[tuple[float, RecoveryResult]]] = {}
    for record in await read_records(env.bootstrap, env.topics["results"], env.partitions):
        if record.value:
            result = RESULTS.decode(record.value)
            out.setdefault(result.id, []).append((record.timestamp / 1000, result))
    return out


async def merge_deficits(env: PipelineEnv, unique: dict[str | None, str | None]) -> str:
    """Per target short of merges: what it should have, the status row's count and the triage
    claim's (from its changelog), so a failure says which side lost them."""
    expected = Counter(unique.values())
    table = await status_table(env)
    rows: dict[str | None, int] = {r.target: r.merged_count for r in table.values()}
    claims: dict[str | None, int] = {}
    for key, value, _ in await read_topic(
        env.bootstrap, env.topics["dedup_targets"], env.partitions
    ):
        if key and value:
            claims[key.decode().rsplit("|", 1)[-1]] = TargetClaim.decode(value).merged_count
    short = {t: n - 1 for t, n in expected.items() if rows.get(t) != n - 1}
    listed = [
        f"{t}: {n} expected, row {rows.get(t)}, claim {claims.get(t)}"
        for t, n in sorted(short.items(), key=str)
    ]
    missing = await uncounted(env, table, short)
    return "merges short: " + ("; ".join(listed) or "none") + "\n" + missing


async def uncounted(
    env: PipelineEnv, table: dict[str, RecoveryResult], targets: Iterable[str | None]
) -> str:
    """The errors for ``targets`` that their rows do not name (neither trigger nor merge), as
    offset ranges per partition of the errors topic: a stretch is a skip in reading, scattered
    ones are table state lost. A row names its first 200 merges only."""
    counted: set[str | None] = set()
    for row in table.values():
        counted |= {row.error.event_id, *row.merged_error_ids}
    wanted = set(targets)
    missing: dict[int, list[int]] = {}
    records = await read_records(env.bootstrap, env.topics["errors"], env.partitions)
    for record in records:
        error = ERRORS.decode(record.value) if record.value else None
        if error and error.cluster_name in wanted and error.event_id not in counted:
            missing.setdefault(record.partition, []).append(record.offset)
    return "uncounted errors, partition: offsets: " + (
        "; ".join(f"{p}: {ranges(offsets)}" for p, offsets in sorted(missing.items())) or "none"
    )


def ranges(offsets: list[int]) -> str:
    """``[3, 4, 5, 9]`` -> ``"3-5, 9"``."""
    spans: list[list[int]] = []
    for offset in sorted(offsets):
        if spans and offset == spans[-1][1] + 1:
            spans[-1][1] = offset
        else:
            spans.append([offset, offset])
    return ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in spans)


async def test_random_sigkills_during_a_storm_keep_every_promise(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    seed = int(os.environ.get("TMC_CRASH_SEED", time.time_ns() % 1_000_000))
    print(f"crash storm seed {seed} (TMC_CRASH_SEED={seed} replays the same storm)")
    rng = random.Random(seed)
    names = [f"crash-{i}" for i in range(TARGETS)]
    waves = [storm(rng, names, PER_WAVE) for _ in range(WAVES)]
    unique = {e.event_id: e.cluster_name for wave in waves for e in wave}
    targets_hit = set(unique.values())

    async with FleetSimulator(names) as fleet:
        for name in names:  # attempts take a while, so kills land mid-attempt too
            await fleet.admin.set_fault(name, FaultMode.SLOW, delay_s=0.2 + rng.random() * 0.6)
        env = PipelineEnv(kafka_bootstrap, fleet.fleet_path, tmp_path, partitions=6)
        config = env.config("crash", dedup={"cooldown_s": 600})
        logs: list[WorkerProcess] = []
        try:
            for number, wave in enumerate(waves):
                worker = WorkerProcess(config, tmp_path / f"crash-{number}.log").start()
                logs.append(worker)
                await worker.ready()
                await emit(env.bootstrap, env.topics["errors"], wave)
                if number < WAVES - 1:
                    await asyncio.sleep(rng.uniform(0.2, 4.0))
                    assert await asyncio.to_thread(worker.stop, signal.SIGKILL) == -9
            try:
                done = settled(len(targets_hit), len(unique))
                rows = await wait_for_table(env, done, within_s=180, workers=(logs[-1],))
            except AssertionError as exc:
                raise AssertionError(f"{await merge_deficits(env, unique)}\n{exc}") from None
            await asyncio.sleep(2)  # anything a zombie attempt would still do shows up now
            writes = {
                name: [w["time"] for w in await fleet.admin.mutations(name)] for name in names
            }
        finally:
            for worker in logs:
                worker.stop(signal.SIGKILL)
    published = await published_by_id(env)

    assert {r.target for r in rows.values()} == targets_hit
    assert len(rows) == len(targets_hit), "one recovery per target, crashes or not"
    for row in rows.values():
        ended_at = min(t for t, r in published[row.id] if r.state.is_terminal)
        assert writes[row.target], f"{row.target}: the simulator saw no write at all"
        late = [w for w in writes[row.target] if w > ended_at + 0.001]  # timestamps: ms
        assert not late, f"{row.id} wrote to {row.target} {len(late)}x after its ending"
    for rid, records in published.items():
        states = [r.state for _, r in records]
        endings = [i for i, s in enumerate(states) if s.is_terminal]
        assert len(endings) == 1, f"{rid}: {len(endings)} terminal records: {states}"
        assert endings[0] == len(states) - 1, f"{rid}: records after its ending: {states}"
    merged = sum(r.merged_count for r in rows.values())
    assert merged + len(rows) == len(unique), "each unique error started or merged, once"


async def test_workers_joining_and_leaving_mid_storm_lose_no_error(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    rng = random.Random()
    names = [f"churn-{i}" for i in range(TARGETS)]
    errors = storm(rng, names, CHURN_CHUNKS * PER_CHUNK)
    unique = {e.event_id: e.cluster_name for e in errors}
    step = len(errors) // CHURN_CHUNKS + 1
    async with FleetSimulator(names) as fleet:
        env = PipelineEnv(kafka_bootstrap, fleet.fleet_path, tmp_path, partitions=6)
        first = WorkerProcess(env.config("w1", dedup={"cooldown_s": 600}), tmp_path / "w1.log")
        second = WorkerProcess(env.config("w2", dedup={"cooldown_s": 600}), tmp_path / "w2.log")
        try:
            await first.start().ready()

            async def emit_in_chunks() -> None:
                for start in range(0, len(errors), step):
                    await emit(env.bootstrap, env.topics["errors"], errors[start : start + step])
                    await asyncio.sleep(0.2)

            emitting = asyncio.create_task(emit_in_chunks())
            await second.start().ready()  # joins: the first worker rebalances mid-storm
            await asyncio.sleep(2)
            assert await asyncio.to_thread(second.stop) == 0, second.tail()  # leaves: again
            await emitting
            done = settled(len(set(unique.values())), len(unique))
            try:
                rows = await wait_for_table(env, done, within_s=180, workers=(first,))
            except AssertionError as exc:
                raise AssertionError(f"{await merge_deficits(env, unique)}\n{exc}") from None
            generations = re.findall(r"Joined group '.*' \(generation \d+\)", first.text())
            assert len(generations) >= 3, "the first worker rebalanced as the second joined, left"
            joined = re.findall(r"resumed \d+ recoveries on partitions \[(\d?)", second.text())
            assert any(joined), "the second worker owned partitions for a while"
        finally:
            for worker in (first, second):
                worker.stop(signal.SIGKILL)

    assert len(rows) == len(set(unique.values())), "one recovery per target"
    merged = sum(r.merged_count for r in rows.values())
    assert merged + len(rows) == len(unique), "each unique error started or merged, once"
