"""The health monitor on a real worker: an Unhealthy report starts a recovery, ten more
reports of the same incident start nothing (no error is even sent), and Healthy then
Unhealthy again is a new incident and a new recovery; an undecodable report is skipped. The
pipeline's counters on /metrics match what was driven."""

import asyncio
import time

import aiohttp
import pytest

from schemas.codec import RecordCodec
from schemas.records import ErrorType, HealthStatus, RecoveryState, TMCError
from streams.clients.health import HealthReporter
from streams.partitioning import partition_for
from streams.testing.harness import PipelineEnv, produce, read_topic, wait_for_table
from tests.api.test_fleet_api import metric

pytestmark = pytest.mark.kafka
ERRORS = RecordCodec(TMCError)


async def report(env: PipelineEnv, *statuses: HealthStatus) -> None:
    topic = env.topics["health"]
    async with HealthReporter(env.bootstrap, "syncer", cluster_name="edge-1", topic=topic) as r:
        for status in statuses:
            await r.report(status)


async def metrics_once(url: str, name: str, expected: float) -> str:
    """The worker's /metrics once ``name`` reaches ``expected`` (the agent may trail)."""
    deadline = time.monotonic() + 20
    async with aiohttp.ClientSession() as http:
        while True:
            async with http.get(f"{url}/metrics") as reply:
                text = await reply.text()
            if metric(text, name) >= expected or time.monotonic() > deadline:
                return text


async def test_one_recovery_per_incident(env: PipelineEnv, start_worker) -> None:
    # No cooldown: an error sent for the same incident would start a recovery of its own,
    # and the second incident is not merged into the first's recovery.
    worker = start_worker("w1", dedup={"cooldown_s": 0})
    url = await worker.api_url()
    await worker.ready()

    def completed(count: int):
        return lambda rows: (
            len(rows) == count and all(r.state is RecoveryState.COMPLETED for r in rows.values())
        )

    await produce(env.bootstrap, env.topics["health"], [(b"edge-1", b"not a report")])
    await report(env, HealthStatus.UNHEALTHY)
    await wait_for_table(env, completed(1), within_s=30, workers=(worker,))
    await report(env, *[HealthStatus.UNHEALTHY] * 10)
    unhealthy = 'tmc_health_reports_total{status="Unhealthy"}'
    text = await metrics_once(url, unhealthy, 11)
    assert (metric(text, unhealthy), metric(text, "tmc_health_incidents_total")) == (11, 1)

    # Triage learns of the first recovery's ending on its own agent, about when status does.
    await asyncio.sleep(1)
    await report(env, HealthStatus.HEALTHY, HealthStatus.UNHEALTHY, HealthStatus.UNHEALTHY)
    rows = await wait_for_table(env, completed(2), within_s=30, workers=(worker,))
    assert {r.error.type for r in rows.values()} == {ErrorType.COMPONENT_UNHEALTHY}
    sent = await read_topic(env.bootstrap, env.topics["errors"], env.partitions)
    errors = [ERRORS.decode(value) for _, value, _ in sent if value]
    assert [(e.component, e.cluster_name) for e in errors] == [("syncer", "edge-1")] * 2

    text = await metrics_once(url, unhealthy, 13)
    assert metric(text, "tmc_health_incidents_total") == 2
    assert metric(text, 'tmc_health_reports_total{status="undecodable"}') == 1, "skipped"
    assert metric(text, "tmc_pipeline_received_total") == 2
    assert metric(text, 'tmc_pipeline_recoveries_started_total{strategy="Generic"}') == 2
    assert metric(text, "tmc_pipeline_deduplicated_total") == 0
    assert metric(text, "tmc_pipeline_dead_lettered_total") == 0
    partition = partition_for(b"edge-1", env.partitions)
    assert f'tmc_pipeline_consumer_lag{{partition="{partition}"}} 0.0' in text.splitlines()
    assert "tmc_executor_queue_depth 0.0" in text.splitlines()
