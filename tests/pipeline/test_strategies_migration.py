"""Migrations end to end, through Kafka and a worker to the simulated control plane: a
half-done migration onto a healthy target completes from its checkpoint; one whose target
and source both stay down ends Escalated in the seed's words, "Migration recovery failed
after 3 attempts: rollback required"."""

import dataclasses
import uuid

import pytest

from schemas.records import ErrorType, RecoveryState
from strategies.gateway import Workspace
from strategies.resources import migration as migration_ref
from strategies.simulator import FaultMode, FleetSimulator
from streams.testing.harness import PipelineEnv, emit, wait_for_table
from tests.strategies.kube_objects import migration
from tests.strategies.scenario import error

pytestmark = pytest.mark.kafka
TMC = Workspace("root:tmc")
S = RecoveryState


async def test_a_migration_completes_and_one_that_cannot_escalates_rollback_required(
    env: PipelineEnv, fleet: FleetSimulator, start_worker
) -> None:
    await fleet.admin.put_object(TMC, migration("healthy", "edge-1", "edge-2", "VolumesCopied"))
    await fleet.admin.put_object(TMC, migration("doomed", "edge-3", "edge-4", "VolumesCopied"))
    for cluster in ("edge-3", "edge-4"):
        await fleet.admin.set_fault(cluster, FaultMode.DOWN)
    failures = [
        error(ErrorType.MIGRATION_FAILURE, target, operation="cutover", migration=name)
        for name, target in (("healthy", "edge-2"), ("doomed", "edge-4"))
    ]
    worker = await start_worker("w1").ready()
    await emit(
        env.bootstrap,
        env.topics["errors"],
        [dataclasses.replace(f, event_id=str(uuid.uuid4())) for f in failures],
    )

    rows = await wait_for_table(
        env,
        lambda rows: len(rows) == 2 and all(r.state.is_terminal for r in rows.values()),
        workers=(worker,),
    )

    by_target = {row.target: row for row in rows.values()}
    healed = by_target["migration:root:tmc/healthy"]
    doomed = by_target["migration:root:tmc/doomed"]
    assert healed.state is S.COMPLETED, worker.tail()
    assert doomed.state is S.ESCALATED
    assert doomed.transitions[-1].reason == (
        "Migration recovery failed after 3 attempts: rollback required "
        "(rollback failed: source cluster edge-3 is not ready)"
    )
    assert [t.state for t in doomed.transitions].count(S.FAILED) == 3
    stored = await fleet.admin.get_object(TMC, migration_ref("healthy"))
    assert stored["status"]["phase"] == "Completed"
