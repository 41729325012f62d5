"""One real worker: /health follows its recoveries' endings while /livez and /readyz do not,
and the CLI reads the same answers through its real entry point."""

import json
import subprocess
from typing import Any

import aiohttp
import pytest

from schemas.records import ErrorType, TMCError
from streams.testing.harness import CLI, PipelineEnv, emit, unreachable, wait_for_table
from tests.api.conftest import get

pytestmark = pytest.mark.kafka


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60)


async def test_health_degrades_with_the_success_rate_and_liveness_does_not(
    env: PipelineEnv, start_worker, http: aiohttp.ClientSession
) -> None:
    worker = start_worker("w1")
    url = await worker.api_url()
    assert (await get(http, f"{url}/livez"))[0] == 200, "alive before it has joined"
    await worker.ready()
    status, health = await get(http, f"{url}/health")
    assert (status, health["status"]) == (200, "Healthy"), health
    assert await get(http, f"{url}/readyz") == (200, {"ready": True})

    async def after(errors: list[TMCError], rows: int) -> tuple[int, Any]:
        await emit(env.bootstrap, env.topics["errors"], errors)
        await wait_for_table(
            env,
            lambda table: len(table) == rows and all(r.state.is_terminal for r in table.values()),
            workers=(worker,),
        )
        return await get(http, f"{url}/health")

    missing = ErrorType.RESOURCE_NOT_FOUND  # nothing may act on it: escalated at admission
    status, health = await after([unreachable("edge-1"), unreachable("edge-2", missing)], 2)
    assert (status, health["status"]) == (200, "Degraded"), health
    assert health["reasons"] == ["success rate 0.50 below 0.8"]
    assert health["details"]["successfulRecoveries"] == health["details"]["failedRecoveries"] == 1

    status, health = await after([unreachable("edge-3", missing)], 3)
    assert (status, health["status"]) == (503, "Unhealthy"), health
    assert health["details"]["successRate"] == pytest.approx(1 / 3, abs=1e-4)
    assert (await get(http, f"{url}/livez"))[0] == 200, "an outage must not restart workers"
    assert (await get(http, f"{url}/readyz"))[0] == 200

    shown = cli("status", "--api", url, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == (await get(http, f"{url}/status"))[1]
    listed = cli("recoveries", "list", "--api", url, "--state", "Escalated", "--json")
    escalated = json.loads(listed.stdout)["recoveries"]
    assert sorted(row["cluster"] for row in escalated) == ["edge-2", "edge-3"]
    one = cli("recoveries", "show", escalated[0]["id"], "--api", url)
    assert one.returncode == 0, one.stderr
    assert escalated[0]["id"] in one.stdout
    assert "Escalated" in one.stdout
    cluster = json.loads(cli("clusters", "edge-1", "--api", url, "--json").stdout)
    assert cluster["counts"]["completed"] == 1
    missing_one = cli("recoveries", "show", "none-0", "--api", url)
    assert missing_one.returncode == 2
    assert missing_one.stderr.count("\n") == 1
    assert "404 no recovery none-0" in missing_one.stderr
