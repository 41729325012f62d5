"""How a producer outside this library puts each error on its cluster's partition.

The worker keeps a cluster's dedup state on one partition: the one the Java client's default
partitioner picks for the record key (``murmur2(key) & 0x7fffffff`` modulo the partition count,
:func:`streams.partitioning.partition_for`). :class:`~streams.clients.ErrorEmitter` (aiokafka)
partitions that way already. An error that arrives on another partition is still handled, but
first forwarded, re-keyed, through the triage topic: one more produce, consume and Avro decode
per error. With librdkafka's default partitioner about ``1 - 1/partitions`` of all errors take
that detour (5 in 6 with 6 partitions). In a storm of 20,000 errors on 6 partitions that cost
about 30 % of the worker's throughput and 40 % more worker CPU per error than the same
producer with ``murmur2_random`` (``python -m bench.storm``).

Java-compatible partitioning per client:

- Java: the default partitioner (leave ``partitioner.class`` unset).
- librdkafka, so confluent-kafka in every language (Python, Go, .NET, C/C++), and
  kcat: ``partitioner=murmur2_random`` (:data:`LIBRDKAFKA_PARTITIONER`). Its default,
  ``consistent_random``, is CRC32 and does not match.
- kafka-go: ``Writer{Balancer: &kafka.Murmur2Balancer{}}``. Its default balancer is
  round-robin, which ignores the key, and ``kafka.Hash`` is FNV-1a: neither matches.
- franz-go: the default partitioner matches (it hashes keyed records with Kafka's murmur2).
- sarama: ``config.Producer.Partitioner = sarama.NewMurmur2Partitioner`` (sarama 1.50.0 and
  later). Its default ``NewHashPartitioner`` is FNV-1a and does not match. Older sarama needs
  ``NewCustomPartitioner(WithAbsFirst(), WithCustomHashFunction(<a murmur2 hash.Hash32>))``.

The key is the cluster name in UTF-8, or the component when the error has no cluster
(:meth:`schemas.records.TMCError.kafka_key`). Producers fail until the topics exist: the worker
creates them at start.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

LIBRDKAFKA_PARTITIONER: Final[Mapping[str, str]] = MappingProxyType(
    {"partitioner": "murmur2_random"}
)
"""librdkafka settings for Java-compatible partitioning, for example
``confluent_kafka.Producer({"bootstrap.servers": ..., **LIBRDKAFKA_PARTITIONER})``."""
