"""client-go's spam filter on a real worker: with a burst of 3 (and no refill within the
test), four doomed conflict recoveries on one cluster are eight Events about its SyncTarget;
three are written, five are counted in tmc_events_dropped_total and logged once."""

import asyncio
import dataclasses
import uuid

import aiohttp
import pytest

from schemas.codec import RecordCodec
from schemas.records import ErrorType, RecoveryEvent
from streams.testing.harness import PipelineEnv, emit, read_topic, wait_for_table
from tests.api.test_fleet_api import metric
from tests.pipeline.test_events import ghost
from tests.strategies.scenario import error

pytestmark = pytest.mark.kafka
EVENTS = RecordCodec(RecoveryEvent)
DROPPED = 'tmc_events_dropped_total{reason="spam_filter"}'
RECOVERIES = 4


async def test_past_the_burst_events_are_dropped_counted_and_logged_once(
    env: PipelineEnv, start_worker
) -> None:
    worker = start_worker("w1", events={"spam_burst": 3, "spam_refill_s": 3600})
    url = await worker.api_url()
    await worker.ready()
    doomed = [
        error(ErrorType.RESOURCE_CONFLICT, "edge-2", ref=ghost(n), desired={"spec": {}})
        for n in range(RECOVERIES)
    ]
    await emit(
        env.bootstrap,
        env.topics["errors"],
        [dataclasses.replace(e, event_id=str(uuid.uuid4())) for e in doomed],
    )
    await wait_for_table(
        env,
        lambda rows: len(rows) == RECOVERIES and all(r.state.is_terminal for r in rows.values()),
        workers=(worker,),
    )

    async def seen() -> tuple[int, float]:
        records = await read_topic(env.bootstrap, env.topics["events"], env.partitions)
        written = [EVENTS.decode(value) for _, value, _ in records if value]
        async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics") as reply:
            dropped = metric(await reply.text(), DROPPED)
        return len([e for e in written if e.involved_object.name == "edge-2"]), dropped

    written, dropped = await seen()
    for _ in range(60):  # the events agent may trail the status table
        if written + dropped >= 2 * RECOVERIES:
            break
        await asyncio.sleep(0.5)
        written, dropped = await seen()
    assert (written, dropped) == (3, 2 * RECOVERIES - 3)
    assert worker.text().count("events about SyncTarget edge-2 dropped by the spam filter") == 1
