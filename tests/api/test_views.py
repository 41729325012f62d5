"""/status in the Go design's shape, summed over shares; summaries with their recoveries' ages."""

from datetime import UTC, datetime, timedelta

from schemas.records import ActiveRecovery, ClusterStatus, RecoveryCounts, RecoveryState
from streams.api.views import cluster_view, merge_status, status_view

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def summary(cluster: str, counts: RecoveryCounts, *active: tuple[str, int]) -> ClusterStatus:
    """``active``: (recovery id, seconds since it started)."""
    return ClusterStatus(
        cluster_name=cluster,
        updated_at=NOW,
        counts=counts,
        active_recoveries=tuple(
            ActiveRecovery(rid, "ClusterConnectivity", cluster, RecoveryState.IN_PROGRESS,
                           NOW - timedelta(seconds=age))
            for rid, age in active
        ),
    )  # fmt: skip


def test_status_counts_started_completed_and_escalated_and_ages_the_active() -> None:
    counts = RecoveryCounts(started=5, completed=2, failed=4, escalated=1, cancelled=1)
    share = status_view(
        [summary("edge-1", counts, ("b", 85), ("a", 45))], {"a": "ClusterUnreachable"}, NOW
    )
    assert share == {
        "activeRecoveries": 2,
        "recoveryAttempts": 5,
        "successfulRecoveries": 2,
        "failedRecoveries": 1,  # failed attempts that were retried are not failures
        "activeRecoveryDetails": [
            {"id": "a", "errorType": "ClusterUnreachable", "state": "InProgress",
             "duration": "45s"},
            {"id": "b", "errorType": "", "state": "InProgress", "duration": "1m25s"},
        ],
    }  # fmt: skip


def test_shares_merge_into_the_fleet_in_the_same_shape() -> None:
    one = status_view([summary("edge-1", RecoveryCounts(started=3, completed=3))], {}, NOW)
    two = status_view(
        [summary("edge-2", RecoveryCounts(started=2, escalated=1), ("c", 1))], {}, NOW
    )
    fleet = merge_status([two, one])
    assert fleet == {
        "activeRecoveries": 1,
        "recoveryAttempts": 5,
        "successfulRecoveries": 3,
        "failedRecoveries": 1,
        "activeRecoveryDetails": two["activeRecoveryDetails"],
    }
    assert list(fleet) == list(one), "the keys in the Go design's order"


def test_a_cluster_view_is_its_summary_with_ages() -> None:
    view = cluster_view(summary("edge-1", RecoveryCounts(started=1), ("a", 3725)), NOW)
    assert view["cluster_name"] == "edge-1"
    assert view["counts"]["started"] == 1
    (active,) = view["active_recoveries"]
    assert (active["recovery_id"], active["duration"]) == ("a", "1h2m5s")
    assert active["started_at"] == (NOW - timedelta(seconds=3725)).isoformat()
