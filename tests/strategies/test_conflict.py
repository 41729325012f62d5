"""ResourceConflict through the HTTP adapter against the simulator: a three-way merge written
with optimistic concurrency converges with no field lost, even while another writer keeps
changing the object; fields both sides changed are reported, never overwritten."""

from typing import Any

import pytest

from schemas.records import ErrorType
from strategies.adapters.http_gateway import HttpClusterGateway
from strategies.base import RecoveryFailed
from strategies.builtin import ResourceConflictRecovery
from strategies.merge import three_way
from strategies.resources import LAST_APPLIED
from strategies.simulator import FleetSimulator
from tests.strategies.kube_objects import REVISION, WEB, applied_then_scaled, deployment
from tests.strategies.scenario import DRY_RUN, RUN, attempt, error


@pytest.fixture
def resolver(gateway: HttpClusterGateway) -> ResourceConflictRecovery:
    return ResourceConflictRecovery(gateway)


def conflict(desired: dict[str, Any]) -> Any:
    return error(ErrorType.RESOURCE_CONFLICT, ref=WEB, desired=desired)


def test_targets_the_cluster_and_the_object(resolver: ResourceConflictRecovery) -> None:
    assert resolver.target(conflict(deployment())) == "east/deployments.apps shop/web"
    assert resolver.can_recover(error(ErrorType.SYNC_CONFLICT, ref=WEB))
    assert not resolver.can_recover(error(ErrorType.RESOURCE_CONFLICT))
    assert (resolver.priority, resolver.timeout.total_seconds()) == (70, 120)


async def test_converges_with_every_field_kept_despite_a_conflicting_writer(
    sim: FleetSimulator, resolver: ResourceConflictRecovery
) -> None:
    await applied_then_scaled(sim)
    desired = deployment(image="shop/web:2.0", version="2")
    await sim.admin.add_conflicting_writer(
        "east", WEB, {"metadata": {"annotations": {REVISION: "7"}}}, times=2
    )

    outcome = await resolver.execute(RUN, conflict(desired), attempt())

    final = await sim.admin.get_object("east", WEB)
    assert final["spec"]["template"]["spec"]["containers"][0]["image"] == "shop/web:2.0"
    assert final["metadata"]["labels"] == {"app": "web", "team": "payments", "version": "2"}
    assert final["spec"]["replicas"] == 5
    assert final["metadata"]["annotations"][REVISION] == "7"
    assert LAST_APPLIED in final["metadata"]["annotations"]
    assert outcome.metrics["write_conflicts"] == 2
    assert outcome.metrics["fields_merged"] == 2
    assert outcome.message == "merged 2 field(s) into deployments.apps shop/web"
    assert "three-way merge against the last-applied annotation" in outcome.actions


async def test_fields_changed_on_both_sides_are_kept_live_and_fail_for_good(
    sim: FleetSimulator, resolver: ResourceConflictRecovery
) -> None:
    original = await applied_then_scaled(sim)
    desired = deployment(replicas=3, image="shop/web:2.0")

    with pytest.raises(RecoveryFailed) as failed:
        await resolver.execute(
            RUN,
            error(ErrorType.RESOURCE_CONFLICT, ref=WEB, desired=desired, original=original),
            attempt(),
        )

    assert not failed.value.retryable
    assert failed.value.next_steps == (
        "decide spec.replicas of deployments.apps shop/web on cluster east by hand",
    )
    final = await sim.admin.get_object("east", WEB)
    assert final["spec"]["replicas"] == 5
    assert final["spec"]["template"]["spec"]["containers"][0]["image"] == "shop/web:2.0"


async def test_a_deleted_object_or_no_desired_state_fails_for_good(
    resolver: ResourceConflictRecovery,
) -> None:
    with pytest.raises(RecoveryFailed, match="no longer exists") as gone:
        await resolver.execute(RUN, conflict(deployment()), attempt())
    with pytest.raises(RecoveryFailed, match="no desired state") as blind:
        await resolver.execute(RUN, error(ErrorType.RESOURCE_CONFLICT, ref=WEB), attempt())
    assert not gone.value.retryable
    assert not blind.value.retryable


async def test_dry_run_plans_the_merge_and_writes_nothing(
    sim: FleetSimulator, resolver: ResourceConflictRecovery
) -> None:
    await applied_then_scaled(sim)
    outcome = await resolver.execute(DRY_RUN, conflict(deployment(image="x:2")), attempt())
    assert (
        "would set spec.template.spec.containers.web.image on deployments.apps shop/web"
        in outcome.actions
    )
    assert await sim.admin.mutations("east") == []


def test_three_way_merge_deletions_and_additions() -> None:
    original = {"spec": {"a": 1, "b": 2, "c": 3}}
    desired = {"spec": {"a": 1, "c": 4, "d": 5}}
    live = {"spec": {"a": 9, "b": 2, "c": 3}, "status": {"x": 1}}
    merge = three_way(original, desired, live)
    assert merge.merged == {"spec": {"a": 9, "c": 4, "d": 5}, "status": {"x": 1}}
    assert merge.applied == ["spec.b", "spec.c", "spec.d"]
    assert merge.unmergeable == []


def test_named_lists_merge_by_name_keeping_server_defaults() -> None:
    original = {"spec": {"containers": [{"name": "web", "image": "web:1"}]}}
    desired = {
        "spec": {"containers": [{"name": "web", "image": "web:2"}, {"name": "log", "image": "l"}]}
    }
    live = {
        "spec": {"containers": [{"name": "web", "image": "web:1", "imagePullPolicy": "Always"}]}
    }
    merge = three_way(original, desired, live)
    assert merge.merged["spec"]["containers"] == [
        {"name": "web", "image": "web:2", "imagePullPolicy": "Always"},
        {"name": "log", "image": "l"},
    ]
    assert merge.applied == ["spec.containers.log", "spec.containers.web.image"]
