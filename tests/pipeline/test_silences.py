"""Silences on a real worker, set and expired through the CLI: a silence on root:prod
suppresses the recoveries of its clusters (recorded as Suppressed rows whose merged count is
the suppressed errors', counted on /metrics, the clusters untouched) and not root:dev's; after
its expiry the next error for a silenced cluster starts a recovery as usual."""

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from schemas.records import RecoveryResult, RecoveryState, TMCError
from strategies.simulator import FleetSimulator
from streams.testing.harness import PipelineEnv, emit, unreachable, wait_for_table
from tests.api.conftest import get, http
from tests.cli import run_cli_async

__all__ = ["http"]
pytestmark = pytest.mark.kafka
S = RecoveryState
ALICE = "alice-token-0123456789"
CONNECTIVITY = "ClusterConnectivity"


async def cli(url: str, *args: str) -> dict[str, Any]:
    """A silence command through the real entry point, as alice (operate)."""
    done = await run_cli_async(
        "silence", *args, "--api", url, "--json", env={"TMC_API_TOKEN": ALICE}
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def error(cluster: str, logical: str) -> TMCError:
    return replace(unreachable(cluster), logical_cluster=logical)


async def listed(
    http: aiohttp.ClientSession, url: str, done: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """GET /silences, once the worker has applied a change (it travels through Kafka)."""
    for _ in range(40):
        status, answer = await get(http, f"{url}/silences")
        assert status == 200
        if done(answer["silences"]):
            return list(answer["silences"])
        await asyncio.sleep(0.25)
    raise AssertionError(f"the silences never changed: {answer}")


def rows_of(rows: dict[str, RecoveryResult], cluster: str) -> list[RecoveryResult]:
    return sorted((r for r in rows.values() if r.target == cluster), key=lambda r: r.start_time)


async def test_a_silence_on_prod_suppresses_its_clusters_until_it_expires(
    env: PipelineEnv, fleet: FleetSimulator, start_worker, http: aiohttp.ClientSession
) -> None:
    worker = start_worker("w1", api={"tokens": {"alice": {"token": ALICE, "role": "operate"}}})
    url = await worker.api_url()
    await worker.ready()

    made = await cli(url, "add", "--logical-cluster", "root:prod", "--duration", "1h",
               "--reason", "prod maintenance")  # fmt: skip
    assert (made["status"], made["matchers"]) == ("active", {"logical_cluster": "root:prod"})
    await listed(http, url, lambda silences: [s["id"] for s in silences] == [made["id"]])

    prod = [error("edge-1", "root:prod:team-a"), error("edge-1", "root:prod:team-a")]
    prod += [error("edge-2", "root:prod")]
    await emit(env.bootstrap, env.topics["errors"], [*prod, error("edge-3", "root:dev")])

    def settled(rows: dict[str, RecoveryResult]) -> bool:
        edge1, edge2, edge3 = (rows_of(rows, c) for c in ("edge-1", "edge-2", "edge-3"))
        return (
            [(r.state, r.merged_count) for r in edge1] == [(S.SUPPRESSED, 1)]
            and [r.state for r in edge2] == [S.SUPPRESSED]
            and [r.state for r in edge3] == [S.COMPLETED]
        )

    rows = await wait_for_table(env, settled, within_s=20, workers=(worker,))
    suppressed = rows_of(rows, "edge-1")[0]
    assert suppressed.strategy == CONNECTIVITY
    assert suppressed.transitions[-1].reason == (
        f"suppressed by silence {made['id']} (created by alice: prod maintenance) "
        f"until {made['expires_at']}"
    )
    assert await fleet.admin.mutations("edge-1") == [], "suppressed: nothing acted"
    assert await fleet.admin.mutations("edge-2") == []
    assert await fleet.admin.mutations("edge-3"), "root:dev is not silenced"

    status, answer = await get(http, f"{url}/recoveries", state="Suppressed")
    assert status == 200
    counts = {r["target"]: r["merged_count"] for r in answer["recoveries"]}
    assert counts == {"edge-1": 1, "edge-2": 0}
    async with http.get(f"{url}/metrics") as reply:
        metrics = await reply.text()
    assert f'tmc_suppressed_errors_total{{strategy="{CONNECTIVITY}"}} 3.0' in metrics

    ended = await cli(url, "expire", made["id"], "--reason", "maintenance over")
    assert (ended["id"], ended["status"]) == (made["id"], "expired")
    await listed(http, url, lambda silences: silences[0]["status"] == "expired")
    assert (await cli(url, "list"))["silences"][0]["created_by"] == "alice"

    await emit(env.bootstrap, env.topics["errors"], [error("edge-1", "root:prod:team-a")])
    rows = await wait_for_table(
        env,
        lambda rows: [r.state for r in rows_of(rows, "edge-1")] == [S.SUPPRESSED, S.COMPLETED],
        within_s=20, workers=(worker,),
    )  # fmt: skip
    assert rows_of(rows, "edge-1")[0].merged_count == 1, "the suppressed row absorbed no more"
    assert await fleet.admin.mutations("edge-1"), "after the expiry it recovers as usual"
