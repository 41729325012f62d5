"""Errors that a producer put on another partition than their cluster's are re-keyed.

confluent-kafka's default partitioner (CRC32) puts most clusters elsewhere than the murmur2
partition the worker keeps their dedup state on. The worker forwards each such error through the
triage topic to its cluster's partition, so a cluster reached by both kinds of producer still
gets one recovery. With ``partitioner=murmur2_random`` nothing takes the detour.
"""

import asyncio
import random
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from confluent_kafka import KafkaError, Message, Producer

from schemas.records import RecoveryResult, RecoveryState, TMCError
from strategies.simulator import FleetSimulator
from streams.clients import LIBRDKAFKA_PARTITIONER
from streams.partitioning import partition_for
from streams.testing.harness import (
    ERRORS,
    RESULTS,
    PipelineEnv,
    WorkerProcess,
    read_topic,
    status_table,
    unreachable,
)

pytestmark = pytest.mark.kafka
S = RecoveryState

PARTITIONS = 6
CLUSTERS = [f"rekey-{i}" for i in range(12)]
PER_CLUSTER = 8
RESENDS = 8  # exact re-sends (same event id), as a retrying emitter produces
DEFAULT: Mapping[str, str] = {}  # librdkafka's default partitioner: consistent_random
JAVA = LIBRDKAFKA_PARTITIONER
SETTLE_S = 90  # a healthy run settles within seconds of the last send


def produce_librdkafka(
    bootstrap: str, topic: str, sends: list[tuple[TMCError, Mapping[str, str]]]
) -> list[int]:
    """Produce each error with a confluent-kafka producer of its config; the partitions chosen."""
    producers: dict[tuple[tuple[str, str], ...], Producer] = {}
    chosen: dict[int, int] = {}
    failures: list[KafkaError] = []
    for i, (error, config) in enumerate(sends):
        name = tuple(sorted(config.items()))
        if name not in producers:
            producers[name] = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **config})

        def delivered(err: KafkaError | None, msg: Message, i: int = i) -> None:
            if err is not None:
                failures.append(err)
            else:
                partition = msg.partition()
                assert partition is not None
                chosen[i] = partition

        producers[name].produce(
            topic, value=ERRORS.encode(error), key=error.kafka_key(), on_delivery=delivered
        )
    for producer in producers.values():
        assert producer.flush(15) == 0, "confluent-kafka could not deliver within 15 s"
    assert not failures, failures
    return [chosen[i] for i in range(len(sends))]


async def forwarded_records(env: PipelineEnv) -> list[tuple[int, bytes | None, bytes | None]]:
    """(partition, key, value) of every error on the triage topic; the worker's ticks, which
    carry no value, left out."""
    consumer = AIOKafkaConsumer(bootstrap_servers=env.bootstrap, group_id=None)
    await consumer.start()
    try:
        parts = [TopicPartition(env.topics["triage"], p) for p in range(env.partitions)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        out = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for tp, batch in (await consumer.getmany(timeout_ms=1000)).items():
                out += [(tp.partition, r.key, r.value) for r in batch if r.value]
        return out
    finally:
        await consumer.stop()


async def run_storm(
    tmp_path: Path, bootstrap: str, sends: list[tuple[TMCError, Mapping[str, str]]]
) -> tuple[PipelineEnv, list[int], dict[str, RecoveryResult]]:
    """A real worker heals ``sends``; returns the env, the partitions produced to, the table."""
    unique = len({error.event_id for error, _ in sends})
    async with FleetSimulator(CLUSTERS) as fleet:
        env = PipelineEnv(bootstrap, fleet.fleet_path, tmp_path, partitions=PARTITIONS)
        worker = WorkerProcess(env.config("w1"), tmp_path / "w1.log").start()
        try:
            await worker.ready()
            # in a thread: the fleet simulator serves the worker from this event loop
            produced = await asyncio.to_thread(
                produce_librdkafka, bootstrap, env.topics["errors"], sends
            )

            def settled(rows: dict[str, RecoveryResult]) -> bool:
                table = list(rows.values())
                return (
                    len(table) >= len(CLUSTERS)
                    and all(r.state.is_terminal for r in table)
                    and sum(r.merged_count for r in table) >= unique - len(CLUSTERS)
                )

            # Not settling in time is reported by the callers' assertions, which say more.
            deadline = time.monotonic() + SETTLE_S
            while not settled(rows := await status_table(env)) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.5)
        finally:
            worker.stop()
    return env, produced, rows


def storm(rng: random.Random) -> list[TMCError]:
    """PER_CLUSTER errors for every cluster, and RESENDS of them sent twice, shuffled."""
    errors = [unreachable(cluster) for cluster in CLUSTERS for _ in range(PER_CLUSTER)]
    errors += [replace(e) for e in rng.sample(errors, RESENDS)]
    rng.shuffle(errors)
    return errors


async def assert_healed_once_per_target(
    env: PipelineEnv, errors: list[TMCError], rows: dict[str, RecoveryResult]
) -> None:
    """One Completed recovery per cluster, and every distinct error started or merged into it."""
    by_target = {row.target: row for row in rows.values()}
    assert len(rows) == len(by_target) == len(CLUSTERS), sorted(r.target for r in rows.values())
    assert set(by_target) == set(CLUSTERS)
    assert {row.state for row in rows.values()} == {S.COMPLETED}
    for cluster, row in by_target.items():
        sent = {e.event_id for e in errors if e.cluster_name == cluster}
        assert row.error.event_id is not None
        accounted = {row.error.event_id, *row.merged_error_ids}
        assert accounted == sent, f"{cluster}: {len(accounted)} of {len(sent)} errors"
        assert row.merged_count == len(sent) - 1, cluster

    # exactly once on the public results topic too: one Pending and one Completed per target
    results = [
        RESULTS.decode(value)
        for _, value, _ in await read_topic(env.bootstrap, env.topics["results"], PARTITIONS)
        if value
    ]
    for state in (S.PENDING, S.COMPLETED):
        per_target = Counter(r.target for r in results if r.state is state)
        assert per_target == dict.fromkeys(CLUSTERS, 1), state


async def test_misplaced_errors_are_forwarded_to_their_clusters_partition(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Most errors come from librdkafka's default partitioner, the first of each cluster from a
    Java-compatible one: both reach one dedup state, so each cluster gets one recovery."""
    rng = random.Random(20261201)
    errors = storm(rng)
    first = {e.cluster_name: e.event_id for e in reversed(errors)}
    sends = [(e, JAVA if first[e.cluster_name] == e.event_id else DEFAULT) for e in errors]

    env, produced, rows = await run_storm(tmp_path, kafka_bootstrap, sends)

    home = {e.kafka_key(): partition_for(e.kafka_key(), PARTITIONS) for e in errors}
    misplaced = [
        e for e, partition in zip(errors, produced, strict=True) if partition != home[e.kafka_key()]
    ]
    assert len(misplaced) > len(errors) / 2, "the default partitioner put most errors elsewhere"
    forwarded = await forwarded_records(env)
    assert Counter(forwarded) == Counter(
        (home[e.kafka_key()], e.kafka_key(), ERRORS.encode(e)) for e in misplaced
    ), "exactly the misplaced errors are forwarded, unchanged, keyed and placed by cluster"
    await assert_healed_once_per_target(env, errors, rows)


async def test_murmur2_random_errors_are_not_forwarded(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    errors = storm(random.Random(20261202))

    env, produced, rows = await run_storm(tmp_path, kafka_bootstrap, [(e, JAVA) for e in errors])

    assert produced == [partition_for(e.kafka_key(), PARTITIONS) for e in errors]
    assert await forwarded_records(env) == []
    await assert_healed_once_per_target(env, errors, rows)
