"""What streams.clients.partitioning tells other producers, checked against the clients themselves.

librdkafka (confluent-kafka) picks partitions on a real broker; the Go clients' partitioners are
called directly by a small Go program (``partitioners/``), when Go is installed.
"""

import json
import os
import random
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, Message, Producer

from streams.clients import LIBRDKAFKA_PARTITIONER
from streams.partitioning import java_partition
from tests.conftest import TopicFactory
from tests.kube.build import GCFLAGS, GO_ENV

PARTITION_COUNTS = (3, 6, 12)
GO_PROBE = Path(__file__).parent / "partitioners"


def _keys() -> list[bytes]:
    """Cluster-like names, non-ASCII names and random bytes of every murmur2 tail length."""
    rng = random.Random(20261201)
    names = [f"edge-{i}" for i in range(150)] + [f"root:org:cluster-{i}" for i in range(50)]
    names += ["kraków-1", "東京-edge", "syncer", "placement-controller"]
    out = [name.encode() for name in names]
    out += [rng.randbytes(rng.randint(1, 40)) for _ in range(200)]
    return out


KEYS = _keys()


def librdkafka_partitions(bootstrap: str, topic: str, config: dict[str, str]) -> list[int]:
    """The partition librdkafka chose for each key, from its delivery reports."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **config})
    chosen: list[int] = []
    failures: list[KafkaError] = []

    def delivered(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            failures.append(err)
        else:
            partition = msg.partition()
            assert partition is not None
            chosen.append(partition)

    for key in KEYS:
        producer.produce(topic, value=b"", key=key, on_delivery=delivered)
        producer.flush(15)  # one at a time: delivery order is key order
    assert not failures, failures
    assert len(chosen) == len(KEYS)
    return chosen


def agreement(chosen: list[int], partitions: int) -> float:
    ours = [java_partition(key, partitions) for key in KEYS]
    return sum(a == b for a, b in zip(chosen, ours, strict=True)) / len(ours)


@pytest.mark.kafka
@pytest.mark.parametrize("partitions", PARTITION_COUNTS)
def test_librdkafka_murmur2_random_matches_and_its_default_does_not(
    kafka_bootstrap: str, topic_factory: TopicFactory, partitions: int
) -> None:
    topic = topic_factory("partitioning", partitions)
    java = librdkafka_partitions(kafka_bootstrap, topic, dict(LIBRDKAFKA_PARTITIONER))
    default = librdkafka_partitions(kafka_bootstrap, topic, {})

    assert agreement(java, partitions) == 1.0
    # The default, consistent_random, is CRC32 of the key: about 1/partitions agree by chance.
    assert default == [zlib.crc32(key) % partitions for key in KEYS]
    assert agreement(default, partitions) < 1 / partitions + 0.1


GO_MATCHES = (
    "kafka-go Murmur2Balancer",
    "franz-go default",
    "franz-go StickyKey",
    "sarama Murmur2Partitioner",
    "sarama custom murmur2",
)
GO_DIFFERS = ("kafka-go Hash", "sarama HashPartitioner", "kafka-go CRC32Balancer")


@pytest.mark.skipif(shutil.which("go") is None, reason="Go is not installed")
@pytest.mark.timeout(660)  # the subprocess's own 600 s first
def test_go_clients_partition_as_the_notes_say() -> None:
    """Builds the probe (its modules come from the Go module proxy; about a minute cold on
    idle cores, over five on a fresh machine busy with the suite and the kube build)."""
    run = subprocess.run(
        # The kube build's flags: a cold compile costs a fifth less CPU without inlining.
        ["go", "run", f"-gcflags={GCFLAGS}", ".", *map(str, PARTITION_COUNTS)],
        cwd=GO_PROBE,
        input="\n".join(key.hex() for key in KEYS),
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **GO_ENV},
        check=False,
    )
    assert run.returncode == 0, run.stderr
    chosen: dict[str, dict[str, list[int]]] = json.loads(run.stdout)
    assert set(chosen) == set(GO_MATCHES + GO_DIFFERS)
    for partitions in PARTITION_COUNTS:
        by_client = {name: got[str(partitions)] for name, got in chosen.items()}
        for name in GO_MATCHES:
            assert agreement(by_client[name], partitions) == 1.0, name
        for name in GO_DIFFERS:
            assert agreement(by_client[name], partitions) < 1 / partitions + 0.1, name
        # kafka-go's CRC32Balancer is librdkafka's default, not Java's.
        crc32 = [zlib.crc32(key) % partitions for key in KEYS]
        assert by_client["kafka-go CRC32Balancer"] == crc32
