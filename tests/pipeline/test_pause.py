"""The kill switch and shadow mode on a real worker, flipped through the CLI: while paused an
error is triaged and deduplicated, its recovery is held (visibly) and the cluster untouched;
after the resume it recovers. A shadowed strategy reports its planned actions and the cluster
sees no write."""

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from schemas.records import RecoveryResult, RecoveryState
from strategies.simulator import FleetSimulator
from streams.execution.lifecycle import SHADOW_RUN
from streams.testing.harness import PipelineEnv, emit, unreachable, wait_for_table
from tests.api.conftest import get, http
from tests.cli import run_cli_async

__all__ = ["http"]
pytestmark = pytest.mark.kafka
S = RecoveryState
ALICE, BOB = "alice-token-0123456789", "bob-token-0123456789ab"


async def flip(url: str, *args: str) -> dict[str, Any]:
    """A switch flipped through the real entry point, as alice (operate)."""
    done = await run_cli_async(*args, "--api", url, "--json", env={"TMC_API_TOKEN": ALICE})
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


async def switches(
    http: aiohttp.ClientSession, url: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """GET /pause, once the worker applies a flip (it travels through Kafka)."""
    for _ in range(40):
        status, view = await get(http, f"{url}/pause")
        assert status == 200
        if done(view):
            return dict(view)
        await asyncio.sleep(0.25)
    raise AssertionError(f"the switches never changed: {view}")


async def refusals(http: aiohttp.ClientSession, url: str) -> None:
    """Refused flips change nothing and leave no audit entry."""
    why, alice, bob = (
        {"reason": "x"},
        {"Authorization": f"Bearer {ALICE}"},
        {"Authorization": f"Bearer {BOB}"},
    )
    refused = [
        (f"{url}/pause", bob, why, 403),
        (f"{url}/pause", None, why, 401),
        (f"{url}/pause", alice, {}, 400),
        (f"{url}/strategies/Nope/shadow", alice, {"on": True}, 404),
        (f"{url}/strategies/ClusterConnectivity/shadow", alice, {"on": "yes"}, 400),
    ]
    for path, headers, body, status in refused:
        async with http.post(path, json=body, headers=headers) as reply:
            assert reply.status == status, (path, body, await reply.text())
    status, view = await get(http, f"{url}/pause")
    assert (status, view) == (200, {"paused": False, "pause": None, "shadow": {}, "audit": []})


def held(row: RecoveryResult) -> bool:
    reason = row.transitions[-1].reason or ""
    return row.state is S.WAITING and reason.startswith("held: fleet paused by alice at ")


def only(rows: dict[str, RecoveryResult], cluster: str) -> RecoveryResult:
    (row,) = [row for row in rows.values() if row.target == cluster]
    return row


async def test_pause_holds_recoveries_and_shadow_reports_without_acting(
    env: PipelineEnv, fleet: FleetSimulator, start_worker, http: aiohttp.ClientSession
) -> None:
    tokens = {"alice": {"token": ALICE, "role": "operate"}, "bob": {"token": BOB, "role": "read"}}
    worker = start_worker("w1", api={"tokens": tokens})
    url = await worker.api_url()
    await worker.ready()
    await refusals(http, url)

    assert (await flip(url, "pause", "--reason", "bad deploy"))["command"] == "pause"
    view = await switches(http, url, lambda view: view["paused"])
    assert (view["pause"]["by"], view["pause"]["reason"]) == ("alice", "bad deploy")
    assert [entry["action"] for entry in view["audit"]] == ["pause"]

    first = unreachable("edge-1")
    await emit(env.bootstrap, env.topics["errors"], [first, unreachable("edge-1")])
    rows = await wait_for_table(
        env,
        lambda rows: any(held(r) and r.merged_count == 1 for r in rows.values()),
        within_s=20, workers=(worker,),
    )  # fmt: skip
    row = only(rows, "edge-1")
    assert row.error.event_id == first.event_id, "triaged, the repeat merged into it"
    assert (row.transitions[-1].reason or "").endswith(": bad deploy")
    assert await fleet.admin.mutations("edge-1") == [], "held: the cluster was not touched"

    await flip(url, "resume", "--reason", "rolled back")
    rows = await wait_for_table(
        env, lambda rows: only(rows, "edge-1").state.is_terminal, within_s=20, workers=(worker,)
    )
    assert only(rows, "edge-1").state is S.COMPLETED
    assert await fleet.admin.mutations("edge-1"), "it acted after the resume"
    view = await switches(http, url, lambda view: not view["paused"])
    assert [entry["action"] for entry in view["audit"]] == ["pause", "resume"]

    assert (await flip(url, "shadow", "ClusterConnectivity", "on"))["command"] == "shadow-on"
    await switches(http, url, lambda view: "ClusterConnectivity" in view["shadow"])
    await emit(env.bootstrap, env.topics["errors"], [unreachable("edge-2")])
    rows = await wait_for_table(
        env, lambda rows: any(r.target == "edge-2" and r.state.is_terminal for r in rows.values()),
        within_s=20, workers=(worker,),
    )  # fmt: skip
    shadow = only(rows, "edge-2")
    assert shadow.state is S.COMPLETED
    assert shadow.result is not None
    assert shadow.result.message.startswith(SHADOW_RUN), shadow.result.message
    assert shadow.result.actions, "it reports what it planned"
    assert await fleet.admin.mutations("edge-2") == [], "a shadow run writes nothing"
