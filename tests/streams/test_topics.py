"""Explicit topic creation and verification against the real broker."""

import asyncio
import uuid

import pytest
from aiokafka.admin import NewTopic

from streams.config import TopicSettings
from streams.testing.harness import create_topics
from streams.topics import TopicError, ensure_topics, topic_plan
from streams.topology import TOPOLOGY

pytestmark = pytest.mark.kafka

STRATEGIES = ["ClusterConnectivity", "Generic"]


def _settings(partitions: int = 3) -> TopicSettings:
    """Every topic of the spec under a fresh prefix."""
    names = TOPOLOGY.under(f"t{uuid.uuid4().hex[:8]}")
    return TopicSettings.model_validate({**names, "partitions": partitions})


def test_plan_co_partitions_everything_and_compacts_tables() -> None:
    plan = topic_plan(_settings(7), STRATEGIES)
    assert {spec.partitions for spec in plan} == {7}
    policies = {spec.name.split(".", 1)[1]: spec.cleanup_policy for spec in plan}
    assert policies["status"] == policies["seen"] == policies["targets"] == "compact"
    assert policies["errors"] == policies["results"] == "delete"
    assert policies["requests.Generic"] == "delete"


async def test_creates_every_topic_once_then_verifies(kafka_bootstrap: str) -> None:
    plan = topic_plan(_settings(), STRATEGIES)
    created = await ensure_topics(kafka_bootstrap, plan)
    assert sorted(created) == sorted(spec.name for spec in plan)
    assert await ensure_topics(kafka_bootstrap, plan) == []


async def test_wrong_partition_count_is_a_clear_error(kafka_bootstrap: str) -> None:
    settings = _settings(partitions=3)
    await create_topics(kafka_bootstrap, [NewTopic(settings.results, 2, 1)])
    with pytest.raises(TopicError, match=rf"{settings.results} has 2 partitions .* says 3"):
        await ensure_topics(kafka_bootstrap, topic_plan(settings, STRATEGIES))


async def test_wrong_cleanup_policy_is_a_clear_error(kafka_bootstrap: str) -> None:
    settings = _settings()
    await create_topics(kafka_bootstrap, [NewTopic(settings.status, 3, 1)])
    with pytest.raises(TopicError, match=rf"{settings.status} has cleanup.policy=delete"):
        await ensure_topics(kafka_bootstrap, topic_plan(settings, STRATEGIES))


async def test_unreachable_broker_is_a_typed_error() -> None:
    plan = topic_plan(_settings(), STRATEGIES)
    with pytest.raises(TopicError, match=r"cannot manage topics on 127\.0\.0\.1:1"):
        await asyncio.wait_for(ensure_topics("127.0.0.1:1", plan), 30)
