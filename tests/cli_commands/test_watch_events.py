"""`tmc-recovery watch` shows the Kubernetes Events beside the results, read straight from
Kafka with the same filters: through the installed command, on a real worker."""

import asyncio
import json
import subprocess
from typing import Any

import pytest

from schemas.records import ErrorType
from streams.status.projection import cluster_of
from streams.testing.harness import PipelineEnv, emit, unreachable, wait_for_table
from tests.cli import run_cli

pytestmark = pytest.mark.kafka


async def watch(config: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The command in a thread: the simulated fleet answers the worker from this event loop."""
    return await asyncio.to_thread(run_cli, "watch", "--from-beginning", "-c", config, *args)


def records(done: subprocess.CompletedProcess[str]) -> tuple[list[Any], list[Any]]:
    """The results and the Events of a --json watch."""
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    return [r for r in lines if r.get("kind") != "Event"], [r for r in lines if r.get("kind")]


def recovery_of(event: dict[str, Any]) -> str:
    return str(event["metadata"]["annotations"]["tmc.kcp.io/recovery-id"])


async def test_watch_shows_results_and_events_with_the_same_filters(
    env: PipelineEnv, start_worker
) -> None:
    worker = await start_worker("w1").ready()
    config = str(worker.config)
    await emit(
        env.bootstrap,
        env.topics["errors"],
        [unreachable("edge-1"), unreachable("edge-2", ErrorType.RESOURCE_NOT_FOUND)],
    )
    rows = await wait_for_table(
        env,
        lambda rows: len(rows) == 2 and all(r.state.is_terminal for r in rows.values()),
        workers=(worker,),
    )
    ids = {cluster_of(row): row.id for row in rows.values()}

    results, events = records(await watch(config, "--cluster", "edge-1", "--limit", "5", "--json"))
    assert sorted(r["state"] for r in results) == ["Completed", "InProgress", "Pending"]
    assert sorted((e["reason"], e["type"]) for e in events) == [
        ("RecoveryCompleted", "Normal"),
        ("RecoveryStarted", "Normal"),
    ]
    assert {(e["involvedObject"]["name"], recovery_of(e)) for e in events} == {
        ("edge-1", ids["edge-1"])
    }
    assert all(e["count"] == 1 and e["apiVersion"] == "v1" for e in events)

    results, events = records(await watch(config, "--state", "Escalated", "--limit", "2", "--json"))
    assert [(r["cluster"], r["state"]) for r in results] == [("edge-2", "Escalated")]
    assert [(e["reason"], e["type"], recovery_of(e)) for e in events] == [
        ("RecoveryFailed", "Warning", ids["edge-2"])
    ]

    # Events alone, under a filter only results can judge: each held for its recovery's result.
    only = await watch(
        config, "--logical-cluster", "root:tmc", "--cluster", "edge-1", "--show", "events",
        "--limit", "2", "--json",
    )  # fmt: skip
    results, events = records(only)
    assert results == []
    assert sorted(e["reason"] for e in events) == ["RecoveryCompleted", "RecoveryStarted"]

    table = await watch(config, "--cluster", "edge-2", "--state", "Escalated", "--limit", "2")
    assert table.returncode == 0, table.stderr
    assert "RecoveryFailed" in table.stdout
    assert "Escalated" in table.stdout
    assert "edge-1" not in table.stdout
