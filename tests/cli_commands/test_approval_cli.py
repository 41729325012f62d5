"""Approval of a destructive action on a real worker, the simulated control plane and the
installed `tmc-recovery` command: with ``execution.approval.required_for: [destructive]``, two
migrations whose targets are down each stop before their rollback, AwaitingApproval with the
plan and the evidence, listed by state; nothing is written to either Migration meanwhile.
`recoveries approve` lets one roll back; `recoveries reject` (an operator's token is refused:
it takes the approve role) cancels the other, which is never rolled back. A second error for a
waiting migration merges into it, and it keeps waiting; tmc_awaiting_approval counts them."""

import dataclasses
import json
import uuid
from typing import Any

import aiohttp
import pytest

from schemas.records import ErrorType, RecoveryState
from strategies.gateway import Workspace
from strategies.resources import migration as migration_ref
from strategies.simulator import FaultMode, FleetSimulator
from streams.testing.harness import PipelineEnv, emit, wait_for_table
from tests.cli import assert_one_line_error, run_cli_async
from tests.pipeline.test_breaker_and_flapping import samples
from tests.strategies.kube_objects import migration
from tests.strategies.scenario import error

pytestmark = pytest.mark.kafka
S = RecoveryState
TMC = Workspace("root:tmc")
ALICE, BOB = "alice-approver-0123456789", "bob-operator-0123456789"


async def stored(fleet: FleetSimulator, name: str) -> dict[str, Any]:
    return await fleet.admin.get_object(TMC, migration_ref(name))


async def awaiting_gauge(url: str) -> float:
    async with aiohttp.ClientSession() as http:
        return (await samples(http, url))[("tmc_awaiting_approval", "")]


async def test_a_rollback_waits_for_approval_then_proceeds_or_is_rejected(
    env: PipelineEnv, fleet: FleetSimulator, start_worker
) -> None:
    await fleet.admin.put_object(TMC, migration("roll-a", "edge-1", "edge-2", "VolumesCopied"))
    await fleet.admin.put_object(TMC, migration("roll-b", "edge-3", "edge-4", "VolumesCopied"))
    for cluster in ("edge-2", "edge-4"):
        await fleet.admin.set_fault(cluster, FaultMode.DOWN)
    tokens = {
        "alice": {"token": ALICE, "role": "approve"},
        "bob": {"token": BOB, "role": "operate"},
    }
    worker = start_worker(
        "w1", api={"tokens": tokens}, execution={"approval": {"required_for": ["destructive"]}}
    )
    url = await worker.api_url()
    await worker.ready()
    failures = [
        error(ErrorType.MIGRATION_FAILURE, target, operation="cutover", migration=name)
        for name, target in (("roll-a", "edge-2"), ("roll-b", "edge-4"))
    ]
    await emit(
        env.bootstrap,
        env.topics["errors"],
        [dataclasses.replace(f, event_id=str(uuid.uuid4())) for f in failures],
    )

    rows = await wait_for_table(
        env,
        lambda rows: len(rows) == 2 and all(r.state is S.AWAITING_APPROVAL for r in rows.values()),
        workers=(worker,),
    )
    by_name = {row.target.rsplit("/", 1)[1]: row for row in rows.values()}
    waiting = by_name["roll-a"]
    assert (
        waiting.transitions[-1].reason
        == "awaiting approval to roll migration roll-a back to edge-1"
    )
    assert waiting.result is not None
    assert waiting.result.message == (
        "wants to roll migration roll-a back to edge-1 (target migration:root:tmc/roll-a): "
        "target cluster edge-2 is not ready"
    )
    assert any("probed target cluster edge-2" in a for a in waiting.result.actions), (
        waiting.result.actions
    )
    for name in ("roll-a", "roll-b"):  # nothing written before approval
        migration_now = await stored(fleet, name)
        assert "action" not in migration_now["spec"], migration_now
        assert migration_now["status"]["phase"] == "Failed"

    again = dataclasses.replace(failures[0], event_id=str(uuid.uuid4()))
    await emit(env.bootstrap, env.topics["errors"], [again])  # merges into the waiting one
    rows = await wait_for_table(
        env, lambda rows: rows[waiting.id].merged_count == 1, workers=(worker,)
    )
    assert rows[waiting.id].state is S.AWAITING_APPROVAL
    assert len(rows) == 2
    assert await awaiting_gauge(url) == 2

    async def cli(*args: str, token: str = ALICE) -> Any:
        return await run_cli_async("recoveries", *args, "--api", url, env={"TMC_API_TOKEN": token})

    listed = await cli("list", "--state", "AwaitingApproval", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {r["id"] for r in json.loads(listed.stdout)["recoveries"]} == {
        by_name["roll-a"].id,
        by_name["roll-b"].id,
    }
    rejected_id = by_name["roll-b"].id
    refused = await cli("reject", rejected_id, "--reason", "no", token=BOB)
    assert_one_line_error(refused, "403")

    approved = await cli("approve", waiting.id, "--reason", "edge-2 is gone for good")
    assert approved.returncode == 0, approved.stderr
    assert "approve of" in approved.stdout
    rejected = await cli("reject", rejected_id, "--reason", "edge-3 is draining", "--json")
    assert rejected.returncode == 0, rejected.stderr
    assert json.loads(rejected.stdout)["reason"] == (
        "approval rejected by alice: edge-3 is draining"
    )

    rows = await wait_for_table(
        env,
        lambda rows: all(r.state.is_terminal for r in rows.values()),
        within_s=30,
        workers=(worker,),
    )
    rolled, cancelled = rows[waiting.id], rows[rejected_id]
    assert rolled.state is S.COMPLETED, worker.tail()
    assert "approved by alice: edge-2 is gone for good" in [t.reason for t in rolled.transitions]
    assert (await stored(fleet, "roll-a"))["status"]["phase"] == "RolledBack"
    assert cancelled.state is S.CANCELLED
    assert cancelled.transitions[-1].reason == "approval rejected by alice: edge-3 is draining"
    untouched = await stored(fleet, "roll-b")
    assert "action" not in untouched["spec"]
    assert untouched["status"]["phase"] == "Failed"
    assert_one_line_error(await cli("approve", waiting.id, "--reason", "again"), "409", "Completed")
    assert await awaiting_gauge(url) == 0
    shown = await cli("show", waiting.id, "--json")
    assert [a["action"] for a in json.loads(shown.stdout)["audit"]] == ["approve"]
