"""`emit` (flags, stdin, --follow) and `watch` through the installed command, on a real worker."""

import json
from typing import Any

import pytest

from strategies.simulator import FleetSimulator
from strategies.simulator.faults import FaultMode
from streams.testing.harness import PipelineEnv
from tests.cli import assert_one_line_error, run_cli_async

pytestmark = pytest.mark.kafka


#: Off the event loop: the simulated fleet answers the worker from this test's loop.
cli = run_cli_async


def lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


async def test_emit_follows_its_recovery_to_the_end_and_watch_shows_it(
    env: PipelineEnv, fleet: FleetSimulator, start_worker
) -> None:
    worker = await start_worker("w1").ready()
    config = str(worker.config)

    flags = ["--type", "ClusterUnreachable", "--cluster", "edge-1", "--message", "no heartbeat"]
    done = await cli("emit", *flags, "--follow", "--json", "-c", config)
    assert done.returncode == 0, (done.stderr, worker.tail())
    sent, *steps = lines(done.stdout)
    assert sent["cluster"] == "edge-1"
    assert [s["state"] for s in steps] == ["Pending", "InProgress", "Completed"]
    assert {s["error"]["event_id"] for s in steps} == {sent["event_id"]}

    # From stdin, the API's JSON of an error; nothing may act on it, so it ends Escalated: exit 1.
    missing = {"type": "ResourceNotFound", "component": "syncer", "operation": "get",
               "message": "gone", "cluster_name": "edge-2"}  # fmt: skip
    escalated = await cli("emit", "--stdin", "--follow", "-c", config, input=json.dumps(missing))
    assert escalated.returncode == 1, escalated.stderr
    assert "Escalated" in escalated.stdout.splitlines()[-1]
    assert "no strategy: ResourceNotFound" in escalated.stdout

    # A recovery slower than --timeout: one line naming how far it got. edge-3 never answers,
    # so its attempts run until they escalate (three attempts of 2 s plus backoff, about 9 s),
    # past the 6 s timeout, which leaves the tracker seconds to find the recovery first.
    await fleet.admin.set_fault("edge-3", FaultMode.HANG)
    slow = await cli("emit", "--type", "ClusterUnreachable", "--cluster", "edge-3", "--follow",
                   "--timeout", "6", "-c", config)  # fmt: skip
    assert_one_line_error(slow, "of event", "after 6 s")

    assert_one_line_error(await cli("emit", "-c", config), "give either --type or --stdin")
    bad = await cli("emit", "--stdin", "-c", config, input='{"type": "ClusterUnreachable"}')
    assert_one_line_error(bad, "not a TMC error in JSON", "component")

    watched = await cli("watch", "--from-beginning", "--cluster", "edge-1", "--limit", "3",
                      "--show", "results", "--json", "-c", config)  # fmt: skip
    assert watched.returncode == 0, watched.stderr
    assert [(r["cluster"], r["state"]) for r in lines(watched.stdout)] == [
        ("edge-1", "Pending"), ("edge-1", "InProgress"), ("edge-1", "Completed"),
    ]  # fmt: skip
    # edge-3 escalates too, by now on a loaded machine, and partitions are read in no set order.
    table = await cli("watch", "--from-beginning", "--cluster", "edge-2", "--state", "Escalated",
                      "--limit", "1", "--show", "results", "-c", config)  # fmt: skip
    assert table.returncode == 0, table.stderr
    assert "edge-2" in table.stdout
    assert "Escalated" in table.stdout
