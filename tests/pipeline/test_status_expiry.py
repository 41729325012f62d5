"""Terminal rows leave the status table after the retention, with a tombstone on its compacted
changelog as an outside client reads it, also when the worker restarted meanwhile; the cluster
summary keeps their counts, an active row stays, and a replay of an expired recovery's records
does not bring its row back."""

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from aiokafka import ConsumerRecord

from schemas.codec import RecordCodec
from schemas.records import ClusterStatus, RecoveryResult, RecoveryState
from strategies.simulator import FleetSimulator
from strategies.simulator.faults import FaultMode
from streams.partitioning import partition_for, row_key
from streams.testing.harness import (
    RESULTS,
    PipelineEnv,
    emit,
    produce,
    read_records,
    read_topic,
    unreachable,
    wait_for_table,
)

pytestmark = pytest.mark.kafka
S = RecoveryState
SUMMARIES = RecordCodec(ClusterStatus)
RETENTION_S = 6.0
SWEEP_S = 0.5
T = TypeVar("T")

# Three clusters on one partition (of 3), so that its ticks pass the active row by too.
DONE, ACTIVE, MARKER = "edge-1", "edge-3", "edge-4"


async def test_terminal_rows_expire_and_their_counts_stay(
    env: PipelineEnv, fleet: FleetSimulator, start_worker
) -> None:
    assert len({partition_for(c.encode(), env.partitions) for c in (DONE, ACTIVE, MARKER)}) == 1
    await fleet.admin.set_fault(ACTIVE, FaultMode.HANG)
    config = {
        "status": {"retention_s": RETENTION_S, "sweep_interval_s": SWEEP_S},
        "dedup": {"event_id_ttl_s": RETENTION_S},
        "strategies": {"ClusterConnectivity": {"timeout_s": 120, "max_attempts": 1000}},
    }
    worker = await start_worker("w1", **config).ready()
    await emit(env.bootstrap, env.topics["errors"], [unreachable(DONE), unreachable(ACTIVE)])
    rows = by_cluster(
        await wait_for_table(
            env,
            lambda rows: (
                {(c, r.state.is_terminal) for c, r in by_cluster(rows).items()}
                == {(DONE, True), (ACTIVE, False)}
            ),
            workers=(worker,),
        )
    )
    ended, running = rows[DONE], rows[ACTIVE]
    assert ended.state is S.COMPLETED
    assert ended.end_time is not None
    summary = await eventually(
        "summary", lambda: summaries(env), lambda s: DONE in s and s[DONE].counts.completed == 1
    )
    assert summary[DONE].counts.started == 1

    # A worker that takes over before the retention passes finds the row through the index
    # it builds on assignment.
    done_key = row_key(DONE, ended.id).encode()
    assert worker.stop() == 0
    assert last(await status_records(env), done_key).value is not None, "not expired yet"
    worker = await start_worker("w2", **config).ready()
    records = await eventually(
        "tombstone",
        lambda: status_records(env),
        lambda records: last(records, done_key).value is None,
    )
    tombstone = last(records, done_key)  # expired: a tombstone for the row's own key
    assert tombstone.timestamp / 1000 >= ended.end_time.timestamp() + RETENTION_S, "not early"
    assert (await summaries(env))[DONE] == summary[DONE], "the summary keeps its counts"

    # Past the active row's retention, ticks have run on its partition: it stays.
    await asyncio.sleep(
        max(running.start_time.timestamp() + RETENTION_S + 4 * SWEEP_S - time.time(), 0)
    )
    active_key = row_key(ACTIVE, running.id).encode()
    values = [r.value for r in await status_records(env) if r.key == active_key]
    assert None not in values, "an active row never expires"
    latest = values[-1]
    assert latest is not None
    assert not RESULTS.decode(latest).state.is_terminal, "it is still retrying"

    # A replay of the expired recovery's records (as after an offset reset) is not projected:
    # the marker's records come after them on the same results partition.
    pending = dataclasses.replace(
        ended, state=S.PENDING, end_time=None, result=None, transitions=ended.transitions[:1]
    )
    replay: list[tuple[bytes | None, bytes]] = [
        (DONE.encode(), RESULTS.encode(record)) for record in (pending, ended)
    ]
    await produce(env.bootstrap, env.topics["results"], replay)
    await emit(env.bootstrap, env.topics["errors"], [unreachable(MARKER)])
    await wait_for_table(
        env,
        lambda rows: MARKER in by_cluster(rows) and by_cluster(rows)[MARKER].state.is_terminal,
        workers=(worker,),
    )
    again = [
        r for r in await status_records(env) if r.key == done_key and r.offset > tombstone.offset
    ]
    assert again == [], "nothing brought the row back"
    assert (await summaries(env))[DONE] == summary[DONE], "the replay counted nothing again"


def last(records: list[ConsumerRecord[bytes, bytes]], key: bytes) -> ConsumerRecord[bytes, bytes]:
    return [r for r in records if r.key == key][-1]


def by_cluster(rows: dict[str, RecoveryResult]) -> dict[str, RecoveryResult]:
    return {row.kafka_key().decode(): row for row in rows.values()}


async def status_records(env: PipelineEnv) -> list[ConsumerRecord[bytes, bytes]]:
    """The status changelog, tombstones included, as a plain consumer reads it."""
    return await read_records(env.bootstrap, env.topics["status"], env.partitions)


async def summaries(env: PipelineEnv) -> dict[str, ClusterStatus]:
    """The clusters changelog's latest summary per cluster."""
    latest = {
        key: value
        for key, value, _ in await read_topic(env.bootstrap, env.topics["clusters"], env.partitions)
        if key is not None and value is not None
    }
    return {key.decode(): SUMMARIES.decode(value) for key, value in latest.items()}


async def eventually(
    what: str, read: Callable[[], Awaitable[T]], done: Callable[[T], object], within_s: float = 30
) -> T:
    """What ``read`` returns once ``done`` holds for it (an exception counts as not yet)."""
    deadline = time.monotonic() + within_s
    while True:
        value = await read()
        try:
            if done(value):
                return value
        except (IndexError, KeyError):
            pass
        assert time.monotonic() < deadline, f"no {what} within {within_s}s"
        await asyncio.sleep(0.5)
