"""Migration through the HTTP adapter against the simulator: a half-done migration resumes
from its checkpoint onto a healthy target, rolls back from a broken one, and escalates
"rollback required" when the rollback fails on the last attempt."""

import pytest

from schemas.records import ErrorType
from strategies.adapters.http_gateway import HttpClusterGateway
from strategies.base import RecoveryFailed
from strategies.builtin import MigrationRecovery
from strategies.builtin.polling import Checks
from strategies.gateway import Workspace
from strategies.resources import migration as migration_ref
from strategies.simulator import FaultMode, FleetSimulator
from tests.strategies.kube_objects import migration
from tests.strategies.scenario import DRY_RUN, RUN, attempt, error

TMC = Workspace("root:tmc")
FAILED = error(ErrorType.MIGRATION_FAILURE, "west", operation="cutover", migration="move-web")


@pytest.fixture
async def migrator(sim: FleetSimulator, gateway: HttpClusterGateway) -> MigrationRecovery:
    await sim.admin.put_object(TMC, migration("move-web", "east", "west", "VolumesCopied"))
    return MigrationRecovery(gateway, checks=Checks(3, 0.01))


async def phase(sim: FleetSimulator) -> str:
    stored = await sim.admin.get_object(TMC, migration_ref("move-web"))
    return str(stored["status"]["phase"])


def test_targets_the_migration() -> None:
    assert MigrationRecovery.priority == 85
    assert MigrationRecovery.timeout.total_seconds() == 600


async def test_resumes_from_the_checkpoint_onto_a_healthy_target(
    sim: FleetSimulator, migrator: MigrationRecovery
) -> None:
    outcome = await migrator.execute(RUN, FAILED, attempt())
    assert await phase(sim) == "Completed"
    assert outcome.message == "migration move-web completed from checkpoint VolumesCopied"
    assert migrator.target(FAILED) == "migration:root:tmc/move-web"


async def test_rolls_back_when_the_target_cannot_recover(
    sim: FleetSimulator, migrator: MigrationRecovery
) -> None:
    await sim.admin.set_fault("west", FaultMode.DOWN)
    outcome = await migrator.execute(RUN, FAILED, attempt())
    assert await phase(sim) == "RolledBack"
    assert outcome.next_steps == ("plan migration move-web again once west is healthy",)


async def test_a_failed_rollback_says_rollback_required_and_is_retried(
    sim: FleetSimulator, migrator: MigrationRecovery
) -> None:
    await sim.admin.set_fault("west", FaultMode.DOWN)
    await sim.admin.set_fault("east", FaultMode.DOWN)
    with pytest.raises(RecoveryFailed) as failed:
        await migrator.execute(RUN, FAILED, attempt(3, of=3))

    assert failed.value.retryable  # the executor escalates after the last attempt
    assert str(failed.value) == (
        "rollback required (rollback failed: source cluster east is not ready)"
    )
    assert "roll migration move-web back by hand" in failed.value.next_steps[0]
    assert failed.value.next_steps[1] == "bring east back first: it is not ready"
    assert await phase(sim) == "Failed"


async def test_dry_run_plans_the_resume_and_changes_nothing(
    sim: FleetSimulator, migrator: MigrationRecovery
) -> None:
    before = await sim.admin.get_object(TMC, migration_ref("move-web"))
    outcome = await migrator.execute(DRY_RUN, FAILED, attempt())
    assert outcome.actions[-1] == "would resume migration move-web from checkpoint VolumesCopied"
    assert await sim.admin.get_object(TMC, migration_ref("move-web")) == before
