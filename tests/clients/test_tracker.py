"""RecoveryTracker on the real broker and a real worker: an emitted event's recovery, to its end."""

import asyncio
from contextlib import aclosing
from datetime import UTC, datetime

import pytest

from schemas.records import RecoveryState
from strategies.simulator import FleetSimulator
from strategies.simulator.faults import FaultMode
from streams.clients import ErrorEmitter, FollowError, RecoveryTracker, SubscribeError
from streams.testing.harness import PipelineEnv, unreachable

pytestmark = pytest.mark.kafka
S = RecoveryState


async def test_wait_returns_the_terminal_record_of_the_recovery_an_event_started(
    env: PipelineEnv, start_worker
) -> None:
    worker = await start_worker("w1").ready()
    results = env.topics["results"]
    before = datetime.now(UTC)
    async with (
        ErrorEmitter(env.bootstrap, topic=env.topics["errors"]) as emitter,
        RecoveryTracker(env.bootstrap, topic=results) as tracker,
    ):
        event_id = await emitter.emit(unreachable("edge-1"))
        done = await tracker.wait(event_id, "edge-1", 60)
    assert done.state is S.COMPLETED, worker.tail()
    assert done.error.event_id == event_id
    assert [t.state for t in done.transitions] == [S.PENDING, S.IN_PROGRESS, S.COMPLETED]

    # Opened after the recovery ended: it is found from a time before the emit, not after it.
    async with RecoveryTracker(env.bootstrap, topic=results, clock_skew_s=0) as late:
        seen = [r async for r in late.follow(event_id, "edge-1", since=before)]
        assert [(r.id, r.state) for r in seen] == [
            (done.id, S.PENDING),
            (done.id, S.IN_PROGRESS),
            (done.id, S.COMPLETED),
        ]
        with pytest.raises(FollowError, match=f"no recovery found for event {event_id}"):
            await late.wait(event_id, "edge-1", 2)


async def test_an_event_merged_into_a_running_recovery_is_followed_through_the_api(
    env: PipelineEnv, fleet: FleetSimulator, start_worker
) -> None:
    worker = await start_worker("w1").ready()
    api = await worker.api_url()
    await fleet.admin.set_fault("edge-5", FaultMode.SLOW, for_requests=1, delay_s=3)
    async with (
        ErrorEmitter(env.bootstrap, topic=env.topics["errors"]) as emitter,
        RecoveryTracker(env.bootstrap, api=api, topic=env.topics["results"]) as tracker,
    ):
        first = await emitter.emit(unreachable("edge-5"))
        async with aclosing(tracker.follow(first, "edge-5")) as transitions:
            started = await anext(transitions)
        joined = await emitter.emit(unreachable("edge-5"))
        both = await asyncio.gather(
            tracker.wait(joined, "edge-5", 60), tracker.wait(first, "edge-5", 60)
        )
    assert [(r.id, r.state) for r in both] == [(started.id, S.COMPLETED)] * 2, worker.tail()
    assert both[0].error.event_id == first, "the joined event's recovery is the first's"


async def test_a_missing_results_topic_is_a_typed_error_not_a_wait(kafka_bootstrap: str) -> None:
    async with RecoveryTracker(kafka_bootstrap, topic="tmc.recovery.results.absent") as tracker:
        with pytest.raises(SubscribeError, match="does not exist"):
            await tracker.wait("e-1", "edge-1", 5)
