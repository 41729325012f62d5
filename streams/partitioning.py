"""Which partition a key lives on: the producer's murmur2 partitioner (Java-compatible).

The pipeline checks each error's partition against this, because producers with another
partitioner (librdkafka's default, for instance) may put a cluster elsewhere.
"""

from functools import cache

from aiokafka.partitioner import DefaultPartitioner

_PARTITIONER = DefaultPartitioner()


@cache
def _numbers(partitions: int) -> list[int]:
    return list(range(partitions))


def partition_for(key: bytes, partitions: int) -> int:
    """Called once per error on the hot path, hence the cached partition list."""
    every = _numbers(partitions)
    chosen: int = _PARTITIONER(key, every, every)
    return chosen
