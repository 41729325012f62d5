"""The audit topic keeps every entry for its configured retention: created compacted and
deleted by age, each entry under a key of its own, so two changes to one recovery both stay
readable (a real worker, cancel then retry)."""

import aiohttp
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from pydantic import ValidationError

from schemas.records import RecoveryState
from strategies.simulator import FleetSimulator
from strategies.simulator.faults import FaultMode
from streams.config import DAY_MS, ServiceSettings
from streams.testing.harness import PipelineEnv, read_topic, wait_for_table
from tests.api.conftest import get, one_recovery
from tests.api.test_cancel_api import ALICE, post

S = RecoveryState
RETENTION_MS = 120 * DAY_MS


async def topic_config(bootstrap: str, topic: str) -> dict[str, str]:
    """The topic's configuration as the broker describes it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, None)]
        )
    finally:
        await admin.close()
    [resource] = response.to_object()["resources"]
    return {e["config_names"]: e["config_value"] for e in resource["config_entries"]}


@pytest.mark.kafka
async def test_two_changes_to_one_recovery_both_stay_on_a_topic_kept_by_age(
    env: PipelineEnv, fleet: FleetSimulator, start_worker, http: aiohttp.ClientSession
) -> None:
    await fleet.admin.set_fault("edge-2", FaultMode.HANG)
    url, worker, running = await one_recovery(
        env, start_worker, "edge-2", S.IN_PROGRESS,
        strategies={"ClusterConnectivity": {"timeout_s": 120}},
        api={"tokens": {"alice": {"token": ALICE, "role": "operate"}}},
        topics={"audit_retention_ms": RETENTION_MS},
    )  # fmt: skip
    config = await topic_config(env.bootstrap, env.topics["audit"])
    assert set(config["cleanup.policy"].split(",")) == {"compact", "delete"}
    assert config["retention.ms"] == str(RETENTION_MS)

    base = f"{url}/recoveries/{running.id}"
    status, _ = await post(http, f"{base}/cancel", ALICE, {"reason": "maintenance"})
    assert status == 202
    await wait_for_table(
        env, lambda rows: rows[running.id].state is S.CANCELLED, within_s=30, workers=(worker,)
    )
    status, retried = await post(http, f"{base}/retry", ALICE, {"reason": "window over"})
    assert status == 202, retried

    status, shown = await get(http, base)
    assert status == 200
    assert [(e["action"], e["reason"]) for e in shown["audit"]] == [
        ("cancel", "maintenance"),
        ("retry", "window over"),
    ]
    trail = await read_topic(env.bootstrap, env.topics["audit"], env.partitions)
    keys = [key for key, _, _ in trail]
    assert len(set(keys)) == 2, "each entry under a key of its own: compaction keeps both"
    assert all(key and key.startswith(f"edge-2~{running.id}~".encode()) for key in keys)


def test_the_audit_trail_must_outlive_the_rows_it_is_shown_on() -> None:
    with pytest.raises(ValidationError, match="audit_retention_ms"):
        ServiceSettings.model_validate(
            {"topics": {"audit_retention_ms": DAY_MS}, "status": {"retention_s": 2 * DAY_MS / 1000}}
        )
    kept = ServiceSettings.model_validate({"topics": {"audit_retention_ms": RETENTION_MS}})
    assert kept.topics.audit_retention_ms == RETENTION_MS
    assert ServiceSettings().topics.audit_retention_ms == 90 * DAY_MS
