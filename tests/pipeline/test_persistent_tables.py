"""Persistent tables (streams/datadir.py) in real workers, on the real broker.

A worker's tables live in RocksDB under its data dir, and each partition's database holds the
offset of the last changelog record it applied: a restart reads the changelogs from there on.
These tests read those offsets from the stopped worker's databases, compare them with the
changelogs' end offsets, and check what the restarted worker replays (its own log line and the
offsets Faust's recovery logs as its starting points). Tables that cannot be trusted (another
group's, ahead of a recreated changelog) are wiped, then rebuilt from the changelogs.
"""

import asyncio
import json
import re
from pathlib import Path
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faust.stores.rocksdb import Store as RocksDBStore
from rocksdict import AccessType, Options, Rdict

from schemas.records import RecoveryResult, RecoveryState, TMCError
from strategies.simulator import FleetSimulator
from streams.app import create_app
from streams.config import ServiceSettings, load_service_settings
from streams.datadir import MARKER_FILE, persisted_offset, store_path
from streams.testing.harness import PipelineEnv, WorkerProcess, emit, unreachable, wait_for_table
from tests.pipeline.conftest import CLUSTERS
from tests.pipeline.test_durability import restarted, results_by_id, stop

pytestmark = pytest.mark.kafka
S = RecoveryState

#: RocksDB tables, and a cooldown long enough that every repeat merges into its cluster's
#: one recovery: the status table then counts every error triage took for a new one.
PERSISTENT = {"store": "rocksdb", "dedup": {"cooldown_s": 600}}

Rows = dict[str, RecoveryResult]
Partition = tuple[str, int]  # (changelog topic, partition)


def storm(per_cluster: int) -> list[TMCError]:
    return [unreachable(cluster) for _ in range(per_cluster) for cluster in CLUSTERS]


def settled(errors: int):
    """One recovery per cluster, ended, with every other error merged into it."""

    def done(rows: Rows) -> bool:
        return (
            len(rows) == len(CLUSTERS)
            and all(r.state is S.COMPLETED for r in rows.values())
            and sum(r.merged_count for r in rows.values()) == errors - len(CLUSTERS)
        )

    return done


def stores(settings: ServiceSettings) -> dict[Partition, Path]:
    """Each table partition's database, by changelog partition (the marker names them)."""
    tabledir = Path(create_app(settings).conf.tabledir)
    changelogs = json.loads((settings.data_dir / MARKER_FILE).read_text())["changelogs"]
    return {
        (topic, partition): store_path(tabledir, table, partition)
        for table, topic in changelogs.items()
        for partition in range(settings.topics.partitions)
    }


def persisted(settings: ServiceSettings) -> dict[Partition, int | None]:
    return {tp: persisted_offset(path) for tp, path in stores(settings).items()}


def row_keys(db: Rdict) -> list[bytes]:
    """The keys of a partition database's rows (not Faust's offset)."""
    keys = cast(list[bytes], list(db.keys()))
    return [key for key in keys if key != RocksDBStore.offset_key]


def rows_in(path: Path) -> list[bytes]:
    db = Rdict(str(path), options=Options(raw_mode=True), access_type=AccessType.read_only())
    try:
        return row_keys(db)
    finally:
        db.close()


async def end_offsets(bootstrap: str, partitions: list[Partition]) -> dict[Partition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(*tp) for tp in partitions])
    finally:
        await consumer.stop()
    return {(tp.topic, tp.partition): end for tp, end in ends.items()}


def replay_line(log: str) -> tuple[int, int]:
    """(records to replay, records in the changelogs) from the worker's start-up line."""
    *_, last = re.findall(r"(\d+) of (\d+) changelog records to replay", log)
    return int(last[0]), int(last[1])


def reading_starts(log: str) -> dict[Partition, int]:
    """Where Faust's recovery starts reading each changelog partition (its last log table):
    the offset after which it applies records."""
    table = log.rsplit("Reading Starts At - Active", 1)[1]
    starts: dict[Partition, int] = {}
    topic = ""
    for line in table.splitlines()[3:]:
        row = re.fullmatch(r"\| (\S+)\s*\| (\d+)\s*\| (-?\d+)\s*\|", line.strip())
        if row is None:
            break
        topic = topic if row[1] == "〃" else row[1]
        starts[(topic, int(row[2]))] = int(row[3])
    return starts


async def assert_resends_only_counted(
    env: PipelineEnv, worker: WorkerProcess, errors: list[TMCError], rows: Rows
) -> None:
    """Exact resends of an old trigger and an old merged error are dropped; a new error
    behind them on the same partition is merged, and nothing starts a recovery again."""
    row = next(r for r in rows.values() if r.target == "edge-1")
    trigger = next(e for e in errors if e.event_id == row.error.event_id)
    merged = next(e for e in reversed(errors) if e.cluster_name == "edge-1")
    new = unreachable("edge-1")
    await emit(env.bootstrap, env.topics["errors"], [trigger, merged, new])

    after = await wait_for_table(
        env,
        lambda now: now[row.id].merged_count > row.merged_count,
        within_s=30,
        workers=(worker,),
    )
    assert after.keys() == rows.keys(), "no recovery added"
    assert after[row.id].merged_count == row.merged_count + 1, "only the new error merged"
    published = await results_by_id(env)
    assert [r.state for r in published[row.id]] == [S.PENDING, S.IN_PROGRESS, S.COMPLETED]


async def filled_then_stopped(
    env: PipelineEnv, start_worker: Any, per_cluster: int
) -> tuple[WorkerProcess, list[TMCError], Any]:
    """A persistent worker that triaged a storm until its table settled, then stopped."""
    first = await start_worker("w1", **PERSISTENT).ready()
    errors = storm(per_cluster)
    await emit(env.bootstrap, env.topics["errors"], errors)
    within_s = 60 + per_cluster / 4
    rows = await wait_for_table(env, settled(len(errors)), within_s=within_s, workers=(first,))
    assert await stop(first) == 0, first.tail()
    return first, errors, rows


async def test_a_restart_replays_only_the_changelog_tail(
    env: PipelineEnv, fleet: FleetSimulator, start_worker, workers: list[WorkerProcess]
) -> None:
    first, errors, _ = await filled_then_stopped(env, start_worker, per_cluster=500)

    settings = load_service_settings(first.config)
    kept = persisted(settings)
    ends = await end_offsets(env.bootstrap, list(kept))
    assert {topic for (topic, _), end in ends.items() if end} == {t for t, _ in ends}, ends
    assert {tp: offset for tp, offset in kept.items() if offset is not None} == {
        tp: end - 1 for tp, end in ends.items() if end
    }, "after a clean stop the stores hold every changelog record written"

    # While it is down a peer, its tables in memory, adds a tail to every changelog.
    peer = await start_worker("w2", store="memory", dedup={"cooldown_s": 600}).ready()
    more = storm(2)
    errors += more
    await emit(env.bootstrap, env.topics["errors"], more)
    rows = await wait_for_table(env, settled(len(errors)), within_s=90, workers=(peer,))
    assert await stop(peer) == 0, peer.tail()

    now = await end_offsets(env.bootstrap, list(kept))
    tail = sum(now[tp] - (0 if offset is None else offset + 1) for tp, offset in kept.items())
    total = sum(now.values())  # nothing was deleted: every changelog starts at offset 0

    again = await restarted(first, workers, "w1-restarted").ready()
    assert replay_line(again.text()) == (tail, total)
    assert 0 < tail < total / 2, f"replayed {tail} of {total}"
    assert reading_starts(again.text()) == {
        tp: -1 if offset is None else offset for tp, offset in kept.items()
    }, "Faust's recovery starts each changelog where the store ends"
    await assert_resends_only_counted(env, again, errors, rows)


async def test_tables_built_for_another_group_are_wiped_not_served(
    env: PipelineEnv, fleet: FleetSimulator, start_worker, workers: list[WorkerProcess]
) -> None:
    first, errors, rows = await filled_then_stopped(env, start_worker, per_cluster=20)

    # The dir now holds another group's tables: here, dedup stores that know no event id
    # (their offsets kept). Served, they would take the resends below for new errors.
    settings = load_service_settings(first.config)
    for (topic, _), path in stores(settings).items():
        if topic == env.topics["dedup_seen"] and path.exists():
            db = Rdict(str(path), options=Options(raw_mode=True))
            for key in row_keys(db):
                db.delete(key)
            db.close()
    marker = settings.data_dir / MARKER_FILE
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "group_id": "another"}))

    again = await restarted(first, workers, "w1-restarted").ready()
    assert re.search(r"wiping the tables in .*'group_id': 'another'", again.text())
    records, total = replay_line(again.text())
    assert records == total > 0, "rebuilt from the whole changelogs"
    await assert_resends_only_counted(env, again, errors, rows)


async def test_stores_ahead_of_a_recreated_changelog_are_wiped(
    env: PipelineEnv, fleet: FleetSimulator, start_worker, workers: list[WorkerProcess]
) -> None:
    first, _, _ = await filled_then_stopped(env, start_worker, per_cluster=20)

    settings = load_service_settings(first.config)
    seen = env.topics["dedup_seen"]
    ahead = {
        tp: path
        for tp, path in stores(settings).items()
        if tp[0] == seen and persisted_offset(path) is not None
    }
    assert ahead, "the dedup changelog had records"
    await delete_topic(env.bootstrap, seen)  # the worker creates it again, empty, at start

    again = await restarted(first, workers, "w1-restarted").ready()
    for (topic, partition), path in ahead.items():
        assert f"wiping {path} ({topic}[{partition}]): it holds offset" in again.text()
    assert await stop(again) == 0, again.tail()
    assert {tp: rows_in(path) for tp, path in ahead.items()} == {tp: [] for tp in ahead}


async def delete_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([topic])
        for _ in range(150):
            if topic not in await admin.list_topics():
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"{topic} still listed 30 s after its deletion")
    finally:
        await admin.close()
