"""ClusterAuth through the HTTP adapter against the simulator: rotated tokens are picked up,
expired ones and revoked RBAC fail for good with what an operator must do."""

import pytest

from schemas.records import ErrorType
from strategies.adapters.http_gateway import HttpClusterGateway
from strategies.base import RecoveryFailed
from strategies.builtin import ClusterAuthRecovery
from strategies.simulator import FleetSimulator
from tests.strategies.kube_objects import WEB
from tests.strategies.scenario import DRY_RUN, RUN, attempt, error

AUTH = error(ErrorType.CLUSTER_AUTHENTICATION, ref=WEB, verb="update")


@pytest.fixture
def auth(gateway: HttpClusterGateway) -> ClusterAuthRecovery:
    return ClusterAuthRecovery(gateway)


def test_declares_the_seed_defaults_and_targets_the_cluster(auth: ClusterAuthRecovery) -> None:
    assert (auth.name, auth.priority, auth.timeout.total_seconds()) == ("ClusterAuth", 90, 180)
    assert auth.target(AUTH) == "east"
    assert not auth.can_recover(error(ErrorType.CLUSTER_AUTHENTICATION, cluster=None))


async def test_a_rotated_token_is_picked_up_and_the_cluster_recorded_ready(
    sim: FleetSimulator, gateway: HttpClusterGateway, auth: ClusterAuthRecovery
) -> None:
    assert (await gateway.probe("east")).healthy  # a worker that has been talking to east
    await sim.admin.rotate_token("east")
    assert (await gateway.probe("east")).status == 401

    outcome = await auth.execute(RUN, AUTH, attempt())

    assert outcome.success
    assert outcome.metrics == {"credentials_rotated": 1.0, "access_reviews": 1.0}
    assert "a rotated token" in outcome.actions[0]
    assert "can update deployments.apps: yes" in outcome.actions[1]
    assert outcome.next_steps == ("retry syncer's update on cluster east",)
    assert (await gateway.probe("east")).healthy
    state = await sim.admin.cluster("east")
    assert state["health_updates"][-1]["reason"] == "CredentialsRefreshed"


async def test_an_expired_token_with_none_to_replace_it_fails_for_good(
    sim: FleetSimulator, auth: ClusterAuthRecovery
) -> None:
    await sim.admin.expire_token("east")
    with pytest.raises(RecoveryFailed) as failed:
        await auth.execute(RUN, AUTH, attempt())
    assert not failed.value.retryable
    assert "401" in str(failed.value)
    assert failed.value.next_steps[0].startswith("issue a new token for tmc-recovery")


async def test_revoked_rbac_fails_for_good_naming_the_grant(
    sim: FleetSimulator, auth: ClusterAuthRecovery
) -> None:
    await sim.admin.set_rbac("east", allowed=False)
    with pytest.raises(RecoveryFailed) as failed:
        await auth.execute(RUN, AUTH, attempt())
    assert not failed.value.retryable
    assert (
        str(failed.value)
        == "cluster east accepts our credentials but RBAC denies update deployments.apps"
    )
    assert "grant tmc-recovery update deployments.apps" in failed.value.next_steps[0]
    assert (await sim.admin.cluster("east"))["health_updates"] == []


async def test_dry_run_plans_and_changes_nothing(
    sim: FleetSimulator, auth: ClusterAuthRecovery
) -> None:
    await sim.admin.rotate_token("east")
    outcome = await auth.execute(DRY_RUN, AUTH, attempt())
    assert outcome.message.startswith("dry run: ")
    assert [a.split(" ")[0] for a in outcome.actions] == ["would"] * 3
    assert await sim.admin.mutations("east") == []
