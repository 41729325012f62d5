"""One real worker: /status, /metrics and /health follow a running recovery and the
recoveries' endings, while /livez and /readyz do not; the CLI reads the same answers
through its real entry point."""

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest

from schemas.records import ErrorType, TMCError
from strategies.simulator import FleetSimulator
from strategies.simulator.faults import FaultMode
from streams.testing.harness import PipelineEnv, emit, unreachable, wait_for_table
from tests.api.conftest import get
from tests.api.test_fleet_api import metric
from tests.cli import run_cli_async

pytestmark = pytest.mark.kafka
MISSING = ErrorType.RESOURCE_NOT_FOUND  # nothing may act on it: escalated at admission


async def test_health_follows_capacity_and_success_rate_and_liveness_does_not(
    env: PipelineEnv, fleet: FleetSimulator, start_worker, http: aiohttp.ClientSession
) -> None:
    worker = start_worker("w1", execution={"max_concurrent": 1})
    url = await worker.api_url()
    assert (await get(http, f"{url}/livez"))[0] == 200, "alive before it has joined"
    await worker.ready()
    status, health = await get(http, f"{url}/health")
    assert (status, health["status"]) == (200, "Healthy"), health
    assert await get(http, f"{url}/readyz") == (200, {"ready": True})

    # A slow cluster holds the worker's only execution slot for a few seconds.
    await fleet.admin.set_fault("edge-5", FaultMode.SLOW, for_requests=1, delay_s=4)
    slow = unreachable("edge-5")
    await emit(env.bootstrap, env.topics["errors"], [slow])
    deadline = time.monotonic() + 20
    while True:
        now = (await get(http, f"{url}/status"))[1]
        if [d["state"] for d in now["activeRecoveryDetails"]] == ["InProgress"]:
            break
        assert time.monotonic() < deadline, worker.tail()
        await asyncio.sleep(0.1)
    (running,) = now["activeRecoveryDetails"]
    assert running["errorType"] == "ClusterUnreachable"
    assert running["duration"] in {"0s", "1s", "2s", "3s", "4s"}
    status, health = await get(http, f"{url}/health")
    assert (status, health["status"]) == (200, "Degraded"), health
    assert health["reasons"] == ["at capacity: 1 of 1 running"]
    async with http.get(f"{url}/metrics") as reply:
        assert metric(await reply.text(), "tmc_active_recoveries_total") == 1, "a live gauge"
    _, edge5 = await get(http, f"{url}/clusters/edge-5")
    assert [a["recovery_id"] for a in edge5["active_recoveries"]] == [running["id"]]

    async def after(errors: list[TMCError], rows: int) -> tuple[int, Any]:
        await emit(env.bootstrap, env.topics["errors"], errors)
        await wait_for_table(
            env,
            lambda table: len(table) == rows and all(r.state.is_terminal for r in table.values()),
            workers=(worker,),
        )
        return await get(http, f"{url}/health")

    status, health = await after([], 1)
    assert (status, health["status"]) == (200, "Healthy"), health
    async with http.get(f"{url}/metrics") as reply:
        assert metric(await reply.text(), "tmc_active_recoveries_total") == 0

    status, health = await after([unreachable("edge-2", MISSING)], 2)
    assert (status, health["status"]) == (200, "Degraded"), health
    assert health["reasons"] == ["success rate 0.50 below 0.8"]
    assert health["details"]["successfulRecoveries"] == health["details"]["failedRecoveries"] == 1

    status, health = await after([unreachable("edge-3", MISSING)], 3)
    assert (status, health["status"]) == (503, "Unhealthy"), health
    assert health["details"]["successRate"] == pytest.approx(1 / 3, abs=1e-4)
    assert (await get(http, f"{url}/livez"))[0] == 200, "an outage must not restart workers"
    assert (await get(http, f"{url}/readyz"))[0] == 200
    cancel = f"{url}/recoveries/{running['id']}/cancel"
    headers = {"Authorization": "Bearer anything-at-all-0123"}
    async with http.post(cancel, json={"reason": "x"}, headers=headers) as reply:
        assert reply.status == 403, "no token configured: every change is refused"

    shown = await run_cli_async("status", "--api", url, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == (await get(http, f"{url}/status"))[1]
    listed = await run_cli_async(
        "recoveries", "list", "--api", url, "--state", "Escalated", "--json"
    )
    escalated = json.loads(listed.stdout)["recoveries"]
    assert sorted(row["cluster"] for row in escalated) == ["edge-2", "edge-3"]
    one = await run_cli_async("recoveries", "show", escalated[0]["id"], "--api", url)
    assert one.returncode == 0, one.stderr
    assert escalated[0]["id"] in one.stdout
    assert "Escalated" in one.stdout
    found = await run_cli_async(
        "recoveries", "list", "--api", url, "--event-id", str(slow.event_id), "--json"
    )
    assert [row["cluster"] for row in json.loads(found.stdout)["recoveries"]] == ["edge-5"]
    cluster = json.loads((await run_cli_async("clusters", "edge-5", "--api", url, "--json")).stdout)
    assert (cluster["counts"]["completed"], cluster["active_recoveries"]) == (1, [])
    missing = await run_cli_async("recoveries", "show", "none-0", "--api", url)
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1
    assert "404 no recovery none-0" in missing.stderr
