"""``GET /recoveries?event_id=`` past the merged ids a row keeps, on two real workers: the
(cluster, event id) lookup in triage's memory finds the recovery an event was merged into,
routed to the cluster's owner or gathered from every worker, and the tracker follows it."""

from datetime import UTC, datetime

import aiohttp
import pytest

from schemas.records import RecoveryResult, RecoveryState
from streams.clients import RecoveryTracker
from streams.testing.harness import PipelineEnv, emit, unreachable, wait_for_table
from streams.triage.rows import MAX_MERGED_IDS
from tests.api.conftest import get
from tests.api.test_fleet_api import two_workers

pytestmark = pytest.mark.kafka

STORM = 300


def ended_with_every_merge(rows: dict[str, RecoveryResult]) -> bool:
    return any(r.merged_count == STORM - 1 and r.state.is_terminal for r in rows.values())


async def test_an_event_merged_past_the_kept_ids_is_found_on_either_worker(
    env: PipelineEnv, start_worker, http: aiohttp.ClientSession
) -> None:
    workers, urls = await two_workers(start_worker, http)

    before = datetime.now(UTC)
    storm = [unreachable("edge-1") for _ in range(STORM)]
    await emit(env.bootstrap, env.topics["errors"], storm)  # one partition: triaged in order
    table = await wait_for_table(env, ended_with_every_merge, workers=tuple(workers))
    (row,) = table.values()
    late = storm[249].event_id
    assert late is not None
    assert len(row.merged_error_ids) == MAX_MERGED_IDS
    assert late not in row.merged_error_ids, "the 250th event is past the ids the row keeps"

    for url in urls:
        for params in ({"cluster": "edge-1"}, {}):
            status, body = await get(http, f"{url}/recoveries", event_id=late, **params)
            assert status == 200, body
            assert [view["id"] for view in body["recoveries"]] == [row.id], (url, params)
        status, body = await get(http, f"{url}/recoveries", event_id="no-such-event")
        assert (status, body["recoveries"]) == (200, [])
        kept = storm[100].event_id
        assert kept is not None
        assert kept in row.merged_error_ids
        _, body = await get(http, f"{url}/recoveries", event_id=kept)
        assert [view["id"] for view in body["recoveries"]] == [row.id]

    # Each worker's own share: only the owner of edge-1's partition finds it.
    local = [
        (await get(http, f"{url}/recoveries", event_id=late, scope="local"))[1]["recoveries"]
        for url in urls
    ]
    assert sorted(len(found) for found in local) == [0, 1], local

    # The tracker finds it through the API (the results topic never names a merged event).
    async with RecoveryTracker(env.bootstrap, api=urls[1], topic=env.topics["results"]) as t:
        done = await t.wait(late, "edge-1", 60, since=before)
    assert (done.id, done.state) == (row.id, RecoveryState.COMPLETED)
