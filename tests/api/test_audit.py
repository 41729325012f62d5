"""Audit entries and retried errors, without Kafka: where an entry lives and what it says; a
retried error is its recovery's error under a new event id, naming the recovery it retries."""

import json
from datetime import datetime

from schemas.records import RecoveryResult
from streams.api.audit import AuditEntry
from streams.api.retry import refusal, retry_of
from streams.api.views import row_view
from streams.partitioning import partition_for
from streams.triage.ids import RETRY_OF
from tests.schemas.examples import recovery_result


def test_an_entry_lives_on_its_clusters_partition_under_a_key_of_its_own() -> None:
    first = AuditEntry("alice", "operate", "cancel", "edge-1", "rec-1", "maintenance")
    second = AuditEntry("alice", "operate", "cancel", "edge-1", "rec-1", "maintenance")
    assert first.key().startswith(b"edge-1~rec-1~")
    assert first.key() != second.key(), "compaction must keep both"
    for partitions in (3, 6, 12):
        assert partition_for(first.key(), partitions) == partition_for(b"edge-1", partitions)
    shown = json.loads(first.value())
    assert {k: shown[k] for k in ("user", "role", "action", "reason", "recovery_id")} == {
        "user": "alice", "role": "operate", "action": "cancel", "reason": "maintenance",
        "recovery_id": "rec-1",
    }  # fmt: skip
    assert datetime.fromisoformat(shown["at"]).tzinfo is not None


def test_a_retry_is_the_recoverys_error_again_under_a_new_event_id() -> None:
    row: RecoveryResult = recovery_result("edge-1", recovery_id="ClusterConnectivity-42")
    first = retry_of(row_view(row), "e-retry")
    assert (first.event_id, row.error.event_id) == (
        "e-retry",
        "7c5c8b1e-64a5-4c39-9d1c-0e9d7f5a1b2c",
    )
    assert first.context == {**row.error.context, RETRY_OF: "ClusterConnectivity-42"}
    assert first.timestamp == row.error.timestamp
    unchanged = ("type", "component", "cluster_name", "resource", "message", "emitter")
    assert [getattr(first, f) for f in unchanged] == [getattr(row.error, f) for f in unchanged]
    assert first.kafka_key() == row.error.kafka_key()


def test_only_an_ended_unhealed_recovery_not_yet_retried_may_be_retried() -> None:
    row = {"id": "r", "target": "edge-1", "state": "Escalated"}
    assert refusal(row, []) is None
    assert refusal({**row, "state": "Cancelled"}, []) is None
    for state in ("Completed", "InProgress", "RetryScheduled"):
        assert refusal({**row, "state": state}, []) == (
            f"recovery r is {state}: only an escalated or cancelled recovery can be retried"
        )
    retried = {"action": "retry", "user": "bob", "at": "T", "details": {"event_id": "e-9"}}
    cancelled = {"action": "cancel", "user": "bob", "at": "T", "details": {}}
    assert refusal(row, [cancelled]) is None
    assert refusal(row, [cancelled, retried]) == (
        "recovery r was retried by bob at T (event e-9): retry that event's recovery instead"
    )
