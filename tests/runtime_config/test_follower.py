"""A worker's follower of the config topic on the real broker: the starting read puts the
latest apply in force, and following on from there puts each new apply in force once; the
earlier applies compaction has not removed yet never come back into force."""

import asyncio
from collections.abc import Callable

import pytest

from streams.config import Tunables
from streams.runtime_config.follower import ConfigFollower
from streams.runtime_config.record import KEY, Applied
from streams.testing.harness import produce

pytestmark = pytest.mark.kafka
TopicFactory = Callable[..., str]


def apply(limit: int) -> Applied:
    return Applied(
        {"execution": {"max_concurrent": limit}}, f"op-{limit}", f"2026-12-01T15:0{limit}:00"
    )


async def test_each_apply_is_put_in_force_once_in_order(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory("config", 3, {"cleanup.policy": "compact"})
    await produce(kafka_bootstrap, topic, [(KEY, apply(n).value()) for n in (1, 2, 3)])
    in_force: list[int] = []
    fourth = asyncio.Event()

    def retune(tunables: Tunables) -> None:
        in_force.append(tunables.execution.max_concurrent)
        if tunables.execution.max_concurrent == 4:
            fourth.set()

    follower = ConfigFollower(kafka_bootstrap, topic, 3, retune, poll_ms=100)
    await follower.read_once()
    assert (in_force, follower.in_force) == ([1, 2, 3], apply(3))

    following = asyncio.create_task(follower.run())  # reopens the topic from its beginning
    try:
        await produce(kafka_bootstrap, topic, [(KEY, apply(4).value())])
        await asyncio.wait_for(fourth.wait(), 20)
    finally:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
    assert in_force == [1, 2, 3, 4]
