"""Which partition a key lives on: the producer's murmur2 partitioner (Java-compatible).

The pipeline checks each error's partition against this, because producers with another
partitioner (librdkafka's default, for instance) may put a cluster elsewhere.
"""

from aiokafka.partitioner import DefaultPartitioner


def partition_for(key: bytes, partitions: int) -> int:
    every = list(range(partitions))
    chosen: int = DefaultPartitioner()(key, every, every)
    return chosen
