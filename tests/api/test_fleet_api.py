"""Two real workers: any worker answers for any key, and lists and /status are fleet-wide."""

import asyncio
import time
from collections.abc import Callable
from urllib.parse import quote

import aiohttp
import pytest

from schemas.records import ErrorType, RecoveryState
from streams.status.projection import cluster_of
from streams.testing.harness import (
    PipelineEnv,
    WorkerProcess,
    emit,
    status_table,
    unreachable,
    wait_for_table,
)
from tests.api.conftest import CLUSTERS, get

pytestmark = pytest.mark.kafka
S = RecoveryState


async def settled(http: aiohttp.ClientSession, urls: list[str], within_s: float = 60) -> None:
    """Until every worker is ready and answers /status for the whole fleet."""
    deadline = time.monotonic() + within_s
    while True:
        answers = [await get(http, f"{url}/readyz") for url in urls]
        answers += [await get(http, f"{url}/status") for url in urls]
        if all(status == 200 for status, _ in answers):
            return
        assert time.monotonic() < deadline, f"not settled: {answers}"
        await asyncio.sleep(0.3)


async def two_workers(
    start_worker: Callable[[str], WorkerProcess], http: aiohttp.ClientSession
) -> tuple[list[WorkerProcess], list[str]]:
    """Two started workers, once both serve the fleet, and their API URLs."""
    workers = [start_worker("w1"), start_worker("w2")]
    urls = [await worker.api_url() for worker in workers]
    await asyncio.gather(*(worker.ready() for worker in workers))
    await settled(http, urls)
    return workers, urls


def metric(text: str, name: str) -> float:
    """The sum of every sample of ``name`` in a Prometheus exposition."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith(f"{name}_")
    )


async def test_every_worker_answers_for_every_key_and_for_the_fleet(
    env: PipelineEnv, start_worker, http: aiohttp.ClientSession
) -> None:
    workers, urls = await two_workers(start_worker, http)

    errors = [unreachable(cluster) for cluster in CLUSTERS]
    errors += [unreachable(c, ErrorType.RESOURCE_NOT_FOUND) for c in ("edge-1", "edge-4")]
    await emit(env.bootstrap, env.topics["errors"], errors)
    table = await wait_for_table(
        env,
        lambda rows: len(rows) == 8 and all(r.state.is_terminal for r in rows.values()),
        workers=tuple(workers),
    )
    completed = [r for r in table.values() if r.state is S.COMPLETED]
    assert len(completed) == 6

    # Each worker serves only its own partitions' share, and both shares are non-empty, so
    # answers below that agree on both workers crossed from one worker to the other.
    shares = [(await get(http, f"{url}/clusters", scope="local"))[1] for url in urls]
    owned = [{view["cluster_name"] for view in share["clusters"]} for share in shares]
    assert all(owned), owned
    assert not owned[0] & owned[1]
    assert owned[0] | owned[1] == set(CLUSTERS)

    expected_status = {
        "activeRecoveries": 0,
        "recoveryAttempts": 8,
        "successfulRecoveries": 6,
        "failedRecoveries": 2,
        "activeRecoveryDetails": [],
    }
    for url in urls:
        assert await get(http, f"{url}/status") == (200, expected_status)
        for row in table.values():
            status, view = await get(http, f"{url}/recoveries/{row.id}")
            assert status == 200, view
            assert (view["id"], view["state"], view["cluster"]) == (
                row.id,
                row.state,
                cluster_of(row),
            )
            assert [t["state"] for t in view["transitions"]] == [t.state for t in row.transitions]
            assert view["error"]["event_id"] == row.error.event_id
            routed = await get(http, f"{url}/recoveries/{row.id}", cluster=cluster_of(row))
            assert routed == (200, view), "straight to the owner, the same row"
        status, edge1 = await get(http, f"{url}/clusters/edge-1")
        assert status == 200, edge1
        assert edge1["counts"]["started"] == 2
        assert (edge1["counts"]["completed"], edge1["counts"]["escalated"]) == (1, 1)
        on_edge1 = {r.strategy: r.id for r in table.values() if cluster_of(r) == "edge-1"}
        outcomes = edge1["last_outcomes"]
        assert {s: o["recovery_id"] for s, o in outcomes.items()} == on_edge1
        odd = "no such/cluster?"  # routed to its owner with its name still one path segment
        assert await get(http, f"{url}/clusters/{quote(odd, safe='')}") == (
            404,
            {"error": f"no recoveries recorded for cluster {odd}"},
        )

    # Paged two at a time from w1 through w2's cursors, every row exactly once.
    seen: list[str] = []
    cursor: str | None = None
    for page in range(10):
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, body = await get(http, f"{urls[page % 2]}/recoveries", **params)
        assert status == 200, body
        seen += [view["id"] for view in body["recoveries"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(table), "every row, and each once"
    _, escalated = await get(http, f"{urls[1]}/recoveries", state="Escalated")
    assert {v["id"] for v in escalated["recoveries"]} == {
        r.id for r in table.values() if r.state is S.ESCALATED
    }
    _, on_edge4 = await get(http, f"{urls[0]}/recoveries", cluster="edge-4")
    assert {v["id"] for v in on_edge4["recoveries"]} == {
        r.id for r in table.values() if cluster_of(r) == "edge-4"
    }

    # Metrics: per worker, so the sum over both is the fleet's.
    expositions = []
    for url in urls:
        async with http.get(f"{url}/metrics") as reply:
            assert reply.status == 200
            expositions.append(await reply.text())
    assert sum(metric(text, "tmc_recovery_successes_total") for text in expositions) == 6
    assert sum(metric(text, "tmc_active_recoveries_total") for text in expositions) == 0
    assert await status_table(env) == table, "the API only read"
