"""Gentle on cluster APIs: the adapter's rate limit per API server and its handling of 429s,
against the simulator over real HTTP (the bucket's arithmetic alone, with a fake clock).

Spacing is read from the simulator's request log (wall-clock arrival times) and asserted
only as a lower bound, which a slow machine can never break: a wait we promised is a wait
that happened.
"""

import asyncio
import itertools
import random
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from strategies.adapters.fleet import Fleet, parse_fleet
from strategies.adapters.http_gateway import HttpClusterGateway
from strategies.adapters.throttle import (
    BACKOFF_CAP_S,
    THROTTLED,
    ThrottleCounts,
    ThrottleReason,
    TokenBucket,
    backoff_s,
    retry_after_s,
)
from strategies.gateway import Throttled, calls_until
from strategies.simulator import FaultMode, FleetSimulator
from streams.metrics import ThrottledCollector

#: Lower bounds on waits leave this much for clock granularity between client and log.
SLACK_S = 0.05


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_saves_a_burst_then_spaces_requests_at_qps() -> None:
    clock = Clock()
    bucket = TokenBucket(qps=2, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0, 0, 0]
    assert [bucket.reserve() for _ in range(2)] == [0.5, 1.0], "queued in order"
    clock.now += 1.0
    assert bucket.reserve() == 0.5, "two refilled, both already promised"
    bucket.cancel()
    assert bucket.reserve() == 0.5, "a cancelled reservation gives its token back"


def test_a_deferred_bucket_holds_everyone_back_until_then() -> None:
    clock = Clock()
    bucket = TokenBucket(qps=100, burst=10, clock=clock)
    bucket.defer(clock.now + 3)
    bucket.defer(clock.now + 1)  # an earlier moment never shortens the hold
    assert bucket.reserve() == 3
    clock.now += 3
    assert bucket.reserve() == 0


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_s("7", now) == 7
    assert retry_after_s(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert retry_after_s(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0
    assert [retry_after_s(v, now) for v in (None, "", "soon", "-1")] == [None] * 4


def test_backoff_without_retry_after_doubles_with_jitter_up_to_a_cap() -> None:
    rng = random.Random(7)
    for retry, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (20, BACKOFF_CAP_S)):
        waits = {backoff_s(retry, rng) for _ in range(50)}
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(waits) > 1, "jittered"


def counts() -> dict[ThrottleReason, int]:
    return {reason: count for reason, (count, _) in THROTTLED.snapshot().items()}


def grew(before: dict[ThrottleReason, int]) -> dict[ThrottleReason, int]:
    after = counts()
    return {r: after[r] - before.get(r, 0) for r in after if after[r] != before.get(r, 0)}


def limited(sim: FleetSimulator, qps: float, burst: int) -> Fleet:
    """The simulator's fleet with every cluster limited to ``qps`` and ``burst``."""
    document = sim.fleet.model_dump(mode="json", exclude_none=True)
    return parse_fleet({**document, "rate_limit": {"qps": qps, "burst": burst}})


async def requests(sim: FleetSimulator, cluster: str) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = (await sim.admin.cluster(cluster))["requests"]
    return log


def gaps(log: list[dict[str, Any]]) -> list[float]:
    return [b["time"] - a["time"] for a, b in itertools.pairwise(log)]


def too_early(log: list[dict[str, Any]], started: float, qps: float, burst: int) -> list[int]:
    """The requests that arrived before the bucket could have let them go: the k-th (from 0)
    not before ``started`` + (k - burst + 1) / qps. Measured from when the callers started, not
    from the first arrival, which a busy machine may delay more than the ones after it."""
    return [
        k
        for k, request in enumerate(log)
        if request["time"] < started + max(0, k - burst + 1) / qps - SLACK_S
    ]


@pytest.fixture
async def sim() -> AsyncIterator[FleetSimulator]:
    async with FleetSimulator(["east", "west"]) as simulator:
        yield simulator


async def test_requests_to_one_cluster_are_spaced_at_its_rate_limit(sim: FleetSimulator) -> None:
    before = counts()
    async with HttpClusterGateway(limited(sim, qps=4, burst=2)) as gateway:
        started = time.time()  # the simulator's request log is on time.time() too
        results = await asyncio.gather(*(gateway.probe("east") for _ in range(6)))
        await gateway.probe("west")
    assert all(result.healthy for result in results)
    log = await requests(sim, "east")
    assert len(log) == 6
    # A burst of two, then four more at 4 a second: the sixth a second after the start.
    assert too_early(log, started, qps=4, burst=2) == []
    assert grew(before).get(ThrottleReason.RATE_LIMIT) == 4
    assert len(await requests(sim, "west")) == 1, "west has a bucket of its own"


async def test_the_fleet_file_sets_the_rate_limit_per_cluster(sim: FleetSimulator) -> None:
    document = limited(sim, qps=1000, burst=1000).model_dump(mode="json", exclude_none=True)
    document["clusters"]["east"]["rate_limit"] = {"qps": 2, "burst": 1}
    async with HttpClusterGateway(parse_fleet(document)) as gateway:
        started = time.time()
        await asyncio.gather(*(gateway.probe("east") for _ in range(3)))
        await asyncio.gather(*(gateway.probe("west") for _ in range(3)))
    assert too_early(await requests(sim, "east"), started, qps=2, burst=1) == []
    assert len(await requests(sim, "west")) == 3


async def test_a_429_with_retry_after_seconds_is_waited_out(sim: FleetSimulator) -> None:
    before = counts()
    await sim.admin.set_fault("east", FaultMode.THROTTLE, for_requests=2, delay_s=1)
    async with HttpClusterGateway(sim.fleet) as gateway:
        capacity = await gateway.read_capacity("east")
    assert capacity.allocatable.cpu_milli == 8000
    log = await requests(sim, "east")
    assert [r["status"] for r in log] == [429, 429, 200, 200]
    assert all(gap >= 1.0 - SLACK_S for gap in gaps(log[:3]))
    assert grew(before) == {ThrottleReason.RETRY_AFTER: 2}


async def test_a_429_with_an_http_date_is_waited_out(sim: FleetSimulator) -> None:
    await sim.admin.set_fault(
        "east", FaultMode.THROTTLE, for_requests=1, delay_s=2, retry_after="date"
    )
    async with HttpClusterGateway(sim.fleet) as gateway:
        probe = await gateway.probe("east")
    assert probe.healthy, "a throttled probe is retried, not taken for an unready cluster"
    log = await requests(sim, "east")
    assert [r["status"] for r in log] == [429, 200]
    assert gaps(log)[0] >= 1.0 - SLACK_S, "a date in whole seconds, 2 s ahead: over 1 s"


async def test_a_429_without_retry_after_backs_off(sim: FleetSimulator) -> None:
    before = counts()
    await sim.admin.set_fault("east", FaultMode.THROTTLE, for_requests=2, retry_after="none")
    async with HttpClusterGateway(sim.fleet) as gateway:
        assert (await gateway.probe("east")).healthy
    log = await requests(sim, "east")
    assert [r["status"] for r in log] == [429, 429, 200]
    assert grew(before) == {ThrottleReason.BACKOFF: 2}
    first, second = gaps(log)
    assert first >= 0.25 - SLACK_S, "at least half the first back-off"
    assert second >= 0.5 - SLACK_S, "at least half the doubled one"


async def test_a_retry_after_holds_back_every_caller_of_that_cluster_only(
    sim: FleetSimulator,
) -> None:
    before = counts()
    await sim.admin.set_fault("east", FaultMode.THROTTLE, for_requests=1, delay_s=2)
    async with HttpClusterGateway(sim.fleet) as gateway:
        first = asyncio.create_task(gateway.probe("east"))
        for _ in range(500):  # until told, and the bucket deferred
            if ThrottleReason.RETRY_AFTER in grew(before):
                break
            await asyncio.sleep(0.01)
        second = asyncio.create_task(gateway.probe("east"))
        assert (await gateway.probe("west")).healthy
        assert (await first).healthy
        assert (await second).healthy
    log = await requests(sim, "east")
    assert [r["status"] for r in log] == [429, 200, 200]
    assert min(r["time"] for r in log[1:]) - log[0]["time"] >= 2.0 - SLACK_S
    (west,) = await requests(sim, "west")
    assert west["time"] < min(r["time"] for r in log[1:]), "west was not held back"


async def test_a_wait_past_the_calls_deadline_fails_at_once_as_throttled(
    sim: FleetSimulator,
) -> None:
    before = counts()
    await sim.admin.set_fault("east", FaultMode.THROTTLE, delay_s=60)
    async with HttpClusterGateway(limited(sim, qps=0.1, burst=1)) as gateway:
        with calls_until(time.monotonic() + 30), pytest.raises(Throttled) as server:
            await gateway.probe("east")
        with calls_until(time.monotonic() + 5):
            await gateway.probe("west")
            with pytest.raises(Throttled) as ours:
                await gateway.probe("west")  # the next token is 10 s away
    assert server.value.wait_s == 60
    assert "no turn within the deadline" in str(ours.value)
    assert [r["status"] for r in await requests(sim, "east")] == [429]
    assert len(await requests(sim, "west")) == 1
    assert grew(before) == {ThrottleReason.DEADLINE: 2}


async def test_the_rate_limit_fault_throttles_only_what_exceeds_its_rate(
    sim: FleetSimulator,
) -> None:
    """The simulator's rate_limit mode, met by a client faster than it (429s, honoured) and by
    one slower than it (never throttled)."""
    await sim.admin.set_fault("east", FaultMode.RATE_LIMIT, qps=4, delay_s=1)
    await sim.admin.set_fault("west", FaultMode.RATE_LIMIT, qps=4, delay_s=1)
    async with HttpClusterGateway(limited(sim, qps=1000, burst=1000)) as fast:
        assert all(p.healthy for p in await asyncio.gather(*(fast.probe("east") for _ in range(8))))
    async with HttpClusterGateway(limited(sim, qps=2, burst=1)) as gentle:
        assert all(
            p.healthy for p in await asyncio.gather(*(gentle.probe("west") for _ in range(4)))
        )
    east = [r["status"] for r in await requests(sim, "east")]
    assert east.count(200) == 8, east
    assert east.count(429) >= 1, east
    assert [r["status"] for r in await requests(sim, "west")] == [200] * 4


def test_the_worker_exports_the_counts_by_reason() -> None:
    throttled = ThrottleCounts()
    throttled.count(ThrottleReason.RETRY_AFTER, 2.0)
    throttled.count(ThrottleReason.RETRY_AFTER, 1.5)
    throttled.count(ThrottleReason.DEADLINE)
    registry = CollectorRegistry()
    registry.register(ThrottledCollector(throttled))
    text = generate_latest(registry).decode()
    assert 'tmc_gateway_throttled_total{reason="retry_after"} 2.0' in text
    assert 'tmc_gateway_throttled_total{reason="deadline"} 1.0' in text
    assert 'tmc_gateway_throttled_seconds_total{reason="retry_after"} 3.5' in text
