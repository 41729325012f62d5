"""The service's topics: planned from the spec (streams/topology.py) and the configuration,
created explicitly, verified on start.

The service never relies on broker auto-creation. Every topic keyed by cluster has the
same partition count, because co-partitioning is what puts a cluster's errors, requests,
results and table rows on one worker. An existing topic with another partition count or
cleanup policy is a start-up error, not silent corruption.
"""

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from schemas.errors import TmcRecoveryError
from streams.config import TopicSettings
from streams.topology import REQUESTS, TOPOLOGY, TopicEntry, Topology

TOPIC_ALREADY_EXISTS = 36
METADATA_WAIT_S = 15.0


class TopicError(TmcRecoveryError):
    """A topic could not be created, or exists with the wrong shape."""


@dataclass(frozen=True)
class TopicSpec:
    """One topic of the plan: its name as configured, its shape, and its spec entry."""

    name: str
    partitions: int
    entry: TopicEntry
    config: dict[str, str]

    @property
    def cleanup_policy(self) -> str:
        return self.config.get("cleanup.policy", "delete")


def topic_plan(
    topics: TopicSettings, strategies: Iterable[str], spec: Topology = TOPOLOGY
) -> list[TopicSpec]:
    """Every topic of ``spec`` the worker reads or writes, with its partitions and retention
    (the request topics: one per strategy)."""
    plan = []
    for entry in spec.entries:
        config = {"cleanup.policy": entry.kind.cleanup_policy}
        if entry.kind.retention_setting is not None:
            config["retention.ms"] = str(getattr(topics, entry.kind.retention_setting))
        if entry.kind is REQUESTS:
            names = [topics.requests(strategy) for strategy in sorted(strategies)]
        else:
            names = [topics.name(entry)]
        plan += [TopicSpec(name, topics.partitions, entry, config) for name in names]
    return plan


async def ensure_topics(
    bootstrap: str, plan: list[TopicSpec], replication: int = 1, *, create: bool = True
) -> list[str]:
    """Create missing topics and verify existing ones; the names created.

    With ``create=False`` only verify: a missing topic is a TopicError too."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [spec for spec in plan if spec.name not in existing]
        if missing and not create:
            names = ", ".join(spec.name for spec in missing)
            raise TopicError(f"{len(missing)} of {len(plan)} topics do not exist: {names}")
        if missing:
            await _create(admin, missing, replication)
        await _verify(admin, plan)
    except KafkaError as exc:
        raise TopicError(
            f"cannot manage topics on {bootstrap}: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        await admin.close()
    return [spec.name for spec in missing]


async def _create(admin: AIOKafkaAdminClient, specs: list[TopicSpec], replication: int) -> None:
    new = [NewTopic(s.name, s.partitions, replication, topic_configs=s.config) for s in specs]
    response = (await admin.create_topics(new)).to_object()
    for topic in response["topic_errors"]:
        code = topic["error_code"]
        if code not in (0, TOPIC_ALREADY_EXISTS):  # another worker may win the race
            raise TopicError(f"creating topic {topic['topic']} failed with Kafka error {code}")


async def _describe(
    admin: AIOKafkaAdminClient, names: list[str], wait_s: float = METADATA_WAIT_S
) -> dict[str, Any]:
    """Topic metadata, waiting while new topics still lack leaders."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        described = {t["topic"]: t for t in await admin.describe_topics(names)}
        pending = [n for n in names if n not in described or described[n]["error_code"] != 0]
        if not pending:
            return described
        if loop.time() > deadline:
            raise TopicError(f"topics not ready after {wait_s:g}s: {', '.join(pending)}")
        await asyncio.sleep(0.2)


async def _verify(admin: AIOKafkaAdminClient, plan: list[TopicSpec]) -> None:
    described = await _describe(admin, [s.name for s in plan])
    resources = [ConfigResource(ConfigResourceType.TOPIC, s.name, None) for s in plan]
    policies: dict[str, str] = {}
    for response in await admin.describe_configs(resources):
        for resource in response.to_object()["resources"]:
            for entry in resource["config_entries"]:
                if entry["config_names"] == "cleanup.policy":
                    policies[resource["resource_name"]] = entry["config_value"]
    for spec in plan:
        partitions = len(described[spec.name]["partitions"])
        if partitions != spec.partitions:
            raise TopicError(
                f"topic {spec.name} has {partitions} partitions but the configuration says "
                f"{spec.partitions}; co-partitioning needs equal counts "
                "(set topics.partitions to match, or recreate the topic)"
            )
        policy = policies.get(spec.name, "delete")
        if set(policy.split(",")) != set(spec.cleanup_policy.split(",")):
            raise TopicError(
                f"topic {spec.name} has cleanup.policy={policy} but needs {spec.cleanup_policy}"
            )
