"""Terminal rows expire by time bucket: never early, at most a bucket late, each once; late
records of an expired recovery do not make a row again. No Kafka."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.records import RecoveryResult, RecoveryState
from streams.config import load_service_settings
from streams.settings_loader import ConfigError
from streams.status.expiry import ExpiryIndex, Retention
from streams.testing.harness import unreachable
from streams.triage import records

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
DAY_S = 24 * 3600.0


def _escalated(at: datetime) -> RecoveryResult:
    return records.escalated(
        "Generic-1", "edge-1", unreachable("edge-1"), "no", "t:0:1", at, "no_strategy"
    )


def test_a_row_expires_a_retention_after_it_ended() -> None:
    ended = dataclasses.replace(_escalated(T0), end_time=T0 + timedelta(hours=1))
    assert Retention(DAY_S).expires_at(ended) == (T0 + timedelta(days=1, hours=1)).timestamp()


def test_a_record_without_a_row_is_late_once_its_recovery_started_a_retention_ago() -> None:
    retention = Retention(60.0)
    record = records.pending("Generic-1", "Generic", 3, "edge-1", unreachable("edge-1"), "", T0)
    start = T0.timestamp()
    assert not retention.is_late(record, start + 59.9)
    assert retention.is_late(record, start + 60.0)
    ended = dataclasses.replace(record, state=RecoveryState.COMPLETED, end_time=T0)
    assert retention.is_late(ended, start + 60.0), "an expired row's ending is late too"


def test_a_tick_pops_only_the_buckets_wholly_due() -> None:
    index = ExpiryIndex(bucket_s=10.0)
    index.add(0, "edge-1~a", 105.0)  # bucket [100, 110)
    index.add(0, "edge-1~b", 109.0)
    index.add(0, "edge-1~c", 125.0)  # bucket [120, 130)
    index.add(1, "edge-2~d", 101.0)  # another partition
    assert index.pop_due(0, 109.9) == [], "b is not due yet, so neither is its bucket"
    assert sorted(index.pop_due(0, 110.0)) == ["edge-1~a", "edge-1~b"]
    assert index.pop_due(0, 125.0) == []
    assert index.pop_due(0, 200.0) == ["edge-1~c"]
    assert index.pop_due(0, 300.0) == [], "each key once"
    assert index.pop_due(1, 300.0) == ["edge-2~d"], "partitions expire apart"


def test_adding_a_key_again_changes_nothing_and_clear_forgets_every_partition() -> None:
    index = ExpiryIndex(bucket_s=1.0)
    index.add(0, "k", 5.0)
    index.add(0, "k", 5.0)
    assert index.pop_due(0, 10.0) == ["k"]
    index.add(0, "k", 5.0)
    index.add(2, "m", 5.0)
    index.clear()
    assert index.pop_due(0, 10.0) == index.pop_due(2, 10.0) == []


@given(
    expiries=st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=60),
    ticks=st.lists(st.floats(0, 1200, allow_nan=False), max_size=30),
    bucket_s=st.sampled_from([0.5, 1.0, 7.0, 60.0]),
)
def test_every_key_leaves_once_never_early_and_at_most_a_bucket_late(
    expiries: list[float], ticks: list[float], bucket_s: float
) -> None:
    index = ExpiryIndex(bucket_s)
    for n, expires in enumerate(expiries):
        index.add(0, f"k{n}", expires)
    popped: dict[str, float] = {}
    for now in [*sorted(ticks), 1200.0 + bucket_s]:
        for key in index.pop_due(0, now):
            assert key not in popped
            popped[key] = now
        for n, expires in enumerate(expiries):
            if expires + bucket_s + 1e-6 <= now:  # (a float's rounding aside)
                assert f"k{n}" in popped, "a whole bucket after its expiry, a key is gone"
    assert len(popped) == len(expiries)
    for n, expires in enumerate(expiries):
        assert popped[f"k{n}"] >= expires


def test_status_settings_default_to_seven_days_and_read_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    status = load_service_settings().status
    assert (status.retention_s, status.sweep_interval_s) == (7 * DAY_S, 60.0)
    monkeypatch.setenv("TMC_STATUS__RETENTION_S", "3600")
    assert load_service_settings().status.retention_s == 3600.0


@pytest.mark.parametrize(
    ("section", "why"),
    [
        ({"retention_s": 0}, r"status\.retention_s .*greater than 0"),
        ({"sweep_interval_s": -1}, r"status\.sweep_interval_s .*greater than 0"),
        ({"retention_s": 30, "sweep_interval_s": 60}, "must not exceed retention_s"),
    ],
)
def test_bad_status_settings_name_the_field(section: dict[str, float], why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        load_service_settings(status=section)
