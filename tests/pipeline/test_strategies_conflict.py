"""A conflict storm end to end: 500 emitted ResourceConflict errors on one Deployment, real
Kafka, a real worker, the HTTP adapter and the simulated cluster with another writer in the
way. One recovery heals it, every other error merges into it, and the final object holds
every field either side changed."""

import dataclasses
import uuid

import pytest

from schemas.records import ErrorType, RecoveryState
from strategies.simulator import FleetSimulator
from streams.testing.harness import PipelineEnv, emit, wait_for_table
from tests.strategies.kube_objects import REVISION, WEB, applied_then_scaled, deployment
from tests.strategies.scenario import error

pytestmark = pytest.mark.kafka
STORM = 500


async def test_a_conflict_storm_is_one_recovery_and_loses_no_field(
    env: PipelineEnv, fleet: FleetSimulator, start_worker
) -> None:
    await applied_then_scaled(fleet, "edge-1")
    await fleet.admin.add_conflicting_writer(
        "edge-1", WEB, {"metadata": {"annotations": {REVISION: "7"}}}, times=2
    )
    conflict = error(
        ErrorType.RESOURCE_CONFLICT,
        "edge-1",
        ref=WEB,
        desired=deployment(image="shop/web:2.0", version="2"),
    )
    storm = [dataclasses.replace(conflict, event_id=str(uuid.uuid4())) for _ in range(STORM)]
    worker = await start_worker("w1").ready()
    await emit(env.bootstrap, env.topics["errors"], storm)

    rows = await wait_for_table(
        env,
        lambda rows: any(
            r.state.is_terminal and r.merged_count == STORM - 1 for r in rows.values()
        ),
        workers=(worker,),
    )

    (row,) = rows.values()
    assert row.state is RecoveryState.COMPLETED, worker.tail()
    assert (row.strategy, row.target) == ("ResourceConflict", "edge-1/deployments.apps shop/web")
    assert row.result is not None
    assert row.result.metrics["write_conflicts"] == 2
    final = await fleet.admin.get_object("edge-1", WEB)
    assert final["spec"]["template"]["spec"]["containers"][0]["image"] == "shop/web:2.0"
    assert final["spec"]["replicas"] == 5
    assert final["metadata"]["labels"] == {"app": "web", "team": "payments", "version": "2"}
    assert final["metadata"]["annotations"][REVISION] == "7"
