"""Row keys carry their cluster: the pipeline places them by the cluster part alone."""

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


def test_only_the_first_separator_splits() -> None:
    assert cluster_part(b"edge-1~a~b") == b"edge-1"
    assert cluster_part(b"no-separator") == b"no-separator"
