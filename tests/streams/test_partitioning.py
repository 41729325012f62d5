"""Row keys carry their cluster: the pipeline places them by the cluster part alone."""

from aiokafka.partitioner import DefaultPartitioner

from streams.partitioning import (
    cluster_part,
    cluster_partitioner,
    java_partition,
    partition_for,
    row_key,
)


def test_a_row_key_lives_on_its_clusters_java_partition() -> None:
    for cluster in ("edge-1", "edge-2", "root:org:cluster-7", "東京-edge"):
        key = row_key(cluster, "ClusterConnectivity-0123456789abcdef012345").encode()
        assert cluster_part(key) == cluster.encode()
        for partitions in (3, 6, 12):
            expected = java_partition(cluster.encode(), partitions)
            assert partition_for(key, partitions) == expected
            assert partition_for(cluster.encode(), partitions) == expected
            every = list(range(partitions))
            assert cluster_partitioner(key, every, every) == expected


def test_the_producer_places_a_record_as_kafkas_default_partitioner_places_its_cluster() -> None:
    """Whatever list of partitions the producer hands over (aiokafka's comes from a set)."""
    for cluster in ("edge-1", "edge-9", "東京-edge"):
        key = row_key(cluster, "ClusterConnectivity-0123456789abcdef012345").encode()
        for partitions in ([0, 1, 2], [0, 1, 2, 3, 4, 5], [5, 3, 1, 0, 2, 4]):
            expected = DefaultPartitioner()(cluster.encode(), partitions, partitions)
            assert cluster_partitioner(key, partitions, partitions) == expected


def test_only_the_first_separator_splits() -> None:
    assert cluster_part(b"edge-1~a~b") == b"edge-1"
    assert cluster_part(b"no-separator") == b"no-separator"
