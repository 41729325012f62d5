"""Durability of recoveries across a crash, a graceful restart and a worker leaving the group.

Real workers (subprocesses) against the real broker and the in-process fleet simulator. The
simulator holds attempts in flight with the "hang" fault (a probe never answers, so every
attempt runs for seconds and fails, retryably); clearing the fault lets the next attempt heal.

The pure checks these rely on live beside the code: tests/streams/test_tables.py (every
changelog decodes what its table wrote) and tests/streams/status/test_projection.py (the
ending of a recovery resumed from a stale row is kept).
"""

import asyncio
import re
import signal
from collections.abc import Callable, Iterable

import pytest

from schemas.records import RecoveryResult, RecoveryState
from strategies.simulator import FleetSimulator
from strategies.simulator.faults import FaultMode
from streams.partitioning import partition_for
from streams.testing.harness import (
    RESULTS,
    PipelineEnv,
    WorkerProcess,
    emit,
    read_topic,
    unreachable,
    wait_for_table,
)

pytestmark = pytest.mark.kafka
S = RecoveryState

#: Attempts never run out while the simulator holds them (so nothing escalates).
PATIENT = {"strategies": {"ClusterConnectivity": {"max_attempts": 50}}}

Rows = dict[str, RecoveryResult]


def by_cluster(rows: Rows) -> dict[str, RecoveryResult]:
    return {row.target: row for row in rows.values()}


def terminal_transitions(row: RecoveryResult) -> list[RecoveryState]:
    return [t.state for t in row.transitions if t.state.is_terminal]


def all_in_flight(clusters: Iterable[str]) -> Callable[[Rows], bool]:
    """Every cluster has a recovery that has started an attempt and has not ended."""
    wanted = set(clusters)

    def done(rows: Rows) -> bool:
        found = by_cluster(rows)
        return wanted <= found.keys() and all(
            not found[c].state.is_terminal
            and any(t.state is S.IN_PROGRESS for t in found[c].transitions)
            for c in wanted
        )

    return done


def all_terminal(count: int) -> Callable[[Rows], bool]:
    return lambda rows: len(rows) >= count and all(r.state.is_terminal for r in rows.values())


async def stop(worker: WorkerProcess, sig: int = signal.SIGTERM) -> int:
    """Stop ``worker`` off the event loop: the fleet simulator serves from this loop."""
    return await asyncio.to_thread(worker.stop, sig)


async def set_faults(fleet: FleetSimulator, clusters: Iterable[str], mode: FaultMode) -> None:
    for cluster in clusters:
        await fleet.admin.set_fault(cluster, mode)


async def results_by_id(env: PipelineEnv) -> dict[str, list[RecoveryResult]]:
    """Every record on the results topic, per recovery id, in topic order."""
    out: dict[str, list[RecoveryResult]] = {}
    for _, value, _ in await read_topic(env.bootstrap, env.topics["results"], env.partitions):
        if value:
            record = RESULTS.decode(value)
            out.setdefault(record.id, []).append(record)
    return out


def assert_one_ending(rows: Rows, published: dict[str, list[RecoveryResult]]) -> None:
    """Each row ended Completed exactly once, and nothing ever published another ending."""
    for row in rows.values():
        assert row.state is S.COMPLETED, f"{row.id}: {row.state}"
        assert terminal_transitions(row) == [S.COMPLETED], f"{row.id}: {row.transitions}"
        endings = {r.state for r in published[row.id] if r.state.is_terminal}
        assert endings == {S.COMPLETED}, f"{row.id} published endings {endings}"


def owned_partitions(worker: WorkerProcess) -> set[int] | None:
    """The partitions ``worker`` owns after its latest rebalance (from its resume log line)."""
    found = re.findall(r"resumed \d+ recoveries on partitions \[([\d, ]*)\]", worker.text())
    if not found:
        return None
    return {int(p) for p in found[-1].split(",") if p.strip()}


def restarted(worker: WorkerProcess, workers: list[WorkerProcess], name: str) -> WorkerProcess:
    """A new process with ``worker``'s config (same id, data dir, group), logging afresh."""
    again = WorkerProcess(worker.config, worker.log.with_name(f"{name}.log"))
    workers.append(again.start())
    return again


async def test_crash_mid_recovery_resumes_every_recovery_once(
    env: PipelineEnv, fleet: FleetSimulator, start_worker, workers: list[WorkerProcess]
) -> None:
    held = ["edge-1", "edge-2", "edge-3", "edge-6"]  # partitions 2, 1, 2, 0 of 3
    assert {partition_for(c.encode(), env.partitions) for c in held} == {0, 1, 2}
    await set_faults(fleet, held, FaultMode.HANG)
    first = await start_worker("w1", **PATIENT).ready()
    await emit(env.bootstrap, env.topics["errors"], [unreachable(c) for c in held])

    before = await wait_for_table(env, all_in_flight(held), within_s=30, workers=(first,))
    started = {row.id for row in before.values()}
    assert len(started) == len(held)
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    after_kill = await wait_for_table(env, lambda rows: len(rows) == len(held))
    assert not [r.id for r in after_kill.values() if r.state.is_terminal], "nothing ended yet"

    await set_faults(fleet, held, FaultMode.HEALTHY)
    second = await restarted(first, workers, "w1-after-crash").ready()
    rows = await wait_for_table(env, all_terminal(len(held)), within_s=45, workers=(second,))

    assert rows.keys() == started, "no recovery lost, none added"
    assert_one_ending(rows, await results_by_id(env))
    for rid, row in rows.items():
        prefix = before[rid].transitions
        assert row.transitions[: len(prefix)] == prefix, f"{rid}: history kept"
        assert f"{rid}: recorded Ready=True" in second.text(), f"{rid} finished by the new worker"


async def test_graceful_restart_keeps_dedup_state(
    env: PipelineEnv, fleet: FleetSimulator, start_worker, workers: list[WorkerProcess]
) -> None:
    cooldown = {"dedup": {"cooldown_s": 600}}
    first = await start_worker("w1", **cooldown).ready()
    trigger = unreachable("edge-2")
    await emit(env.bootstrap, env.topics["errors"], [trigger])
    (done,) = (await wait_for_table(env, all_terminal(1), within_s=30, workers=(first,))).values()
    assert done.state is S.COMPLETED
    assert done.merged_count == 0

    assert await stop(first) == 0, first.tail()
    second = await restarted(first, workers, "w1-restarted").ready()

    # Same problem, new event, within the cooldown: merged into the completed recovery.
    again = unreachable("edge-2")
    await emit(env.bootstrap, env.topics["errors"], [again])

    def merged(*ids: str | None) -> Callable[[Rows], bool]:
        return lambda rows: set(ids) <= set(rows[done.id].merged_error_ids)

    rows = await wait_for_table(env, merged(again.event_id), within_s=30, workers=(second,))
    assert rows.keys() == {done.id}, "no second recovery"
    assert rows[done.id].merged_count == 1
    assert rows[done.id].state is S.COMPLETED

    # The exact same event again: dropped. A later new event on the same partition shows
    # that the redelivered one was triaged before it, and counted nowhere.
    marker = unreachable("edge-2")
    await emit(env.bootstrap, env.topics["errors"], [trigger, marker])
    rows = await wait_for_table(env, merged(marker.event_id), within_s=30, workers=(second,))
    assert rows.keys() == {done.id}, "no second recovery"
    row = rows[done.id]
    assert row.merged_error_ids == (again.event_id, marker.event_id)
    assert row.merged_count == 2
    assert terminal_transitions(row) == [S.COMPLETED]
    published = await results_by_id(env)
    assert published.keys() == {done.id}
    assert [r.state for r in published[done.id]] == [S.PENDING, S.IN_PROGRESS, S.COMPLETED]


async def test_scale_out_then_in_moves_in_flight_recoveries(
    env: PipelineEnv, fleet: FleetSimulator, start_worker
) -> None:
    one, two = start_worker("w1", **PATIENT), start_worker("w2", **PATIENT)
    await asyncio.gather(one.ready(), two.ready())

    def shared() -> bool:
        mine, theirs = owned_partitions(one), owned_partitions(two)
        return bool(mine and theirs and not mine & theirs and mine | theirs == {0, 1, 2})

    await poll(shared, within_s=30, what="both workers own partitions", workers=(one, two))

    held = ["edge-1", "edge-2", "edge-3", "edge-6"]  # partitions 2, 1, 2, 0 of 3
    await set_faults(fleet, held, FaultMode.HANG)
    await emit(env.bootstrap, env.topics["errors"], [unreachable(c) for c in held])
    before = await wait_for_table(env, all_in_flight(held), within_s=30, workers=(one, two))
    assert shared(), "no rebalance while the recoveries started"

    # Stop the worker running the most of them (ties: w1); the other must finish them.
    def running_on(worker: WorkerProcess) -> set[str]:
        owned = owned_partitions(worker) or set()
        return {
            rid
            for rid, row in before.items()
            if partition_for(row.kafka_key(), env.partitions) in owned
        }

    leaving, staying = (one, two) if len(running_on(one)) >= len(running_on(two)) else (two, one)
    moved = running_on(leaving)
    assert moved, "the leaving worker has recoveries in flight"
    await poll(
        lambda: all(f"{rid}: probed cluster" in leaving.text() for rid in moved),
        within_s=20,
        what="the leaving worker probed each of its clusters (attempts in flight there)",
        workers=(leaving,),
    )
    mark = len(staying.text())
    assert await stop(leaving) == 0, leaving.tail()

    await poll(
        lambda: owned_partitions(staying) == {0, 1, 2},
        within_s=30,
        what="the staying worker owns every partition",
        workers=(staying,),
    )
    await set_faults(fleet, held, FaultMode.HEALTHY)
    rows = await wait_for_table(env, all_terminal(len(held)), within_s=45, workers=(staying,))
    assert rows.keys() == before.keys()
    assert_one_ending(rows, await results_by_id(env))
    taken_over = staying.text()[mark:]
    for rid in moved:
        assert f"{rid}: recorded Ready=True" in taken_over, f"{rid} finished by the staying worker"


async def poll(
    check: Callable[[], bool],
    within_s: float,
    what: str,
    workers: tuple[WorkerProcess, ...] = (),
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not check():
        if loop.time() > deadline:
            logs = "\n".join(w.tail(30) for w in workers)
            raise AssertionError(f"not within {within_s}s: {what}\n{logs}")
        await asyncio.sleep(0.2)
