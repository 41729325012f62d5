"""Destructive actions are declared before they are taken (``ExecutionContext.before``), on
the simulator through the HTTP adapter: Migration's rollback and Placement's move stop on a
refusal with nothing written; a resume is not destructive; a dry run declares nothing."""

import pytest

from schemas.records import ErrorType
from strategies.adapters.http_gateway import HttpClusterGateway
from strategies.base import Action, ApprovalRequired, ExecutionContext
from strategies.builtin import MigrationRecovery, PlacementRecovery
from strategies.builtin.polling import Checks
from strategies.gateway import Workspace
from strategies.resources import migration as migration_ref
from strategies.resources import placement as placement_ref
from strategies.simulator import FaultMode, FleetSimulator
from tests.strategies.kube_objects import migration, placement
from tests.strategies.scenario import attempt, error

TMC = Workspace("root:tmc")
MIGRATION = error(ErrorType.MIGRATION_FAILURE, "west", operation="cutover", migration="move-web")
PLACEMENT = error(ErrorType.PLACEMENT_CAPACITY, "east", operation="place", placement="web")


class Gatekeeper:
    """Refuses every destructive action, as a required approval not given yet does."""

    def __init__(self) -> None:
        self.declared: list[Action] = []

    def __call__(self, action: Action, evidence: tuple[str, ...]) -> None:
        self.declared.append(action)
        if action.destructive:
            raise ApprovalRequired(action, evidence)

    def context(self, dry_run: bool = False) -> ExecutionContext:
        return ExecutionContext("rec-1", dry_run, self)


@pytest.fixture
async def migrator(sim: FleetSimulator, gateway: HttpClusterGateway) -> MigrationRecovery:
    await sim.admin.put_object(TMC, migration("move-web", "east", "west", "VolumesCopied"))
    return MigrationRecovery(gateway, checks=Checks(3, 0.01))


async def test_a_rollback_is_destructive_and_stops_before_any_write(
    sim: FleetSimulator, migrator: MigrationRecovery
) -> None:
    await sim.admin.set_fault("west", FaultMode.DOWN)

    with pytest.raises(ApprovalRequired) as stopped:
        await migrator.execute(Gatekeeper().context(), MIGRATION, attempt())

    action = stopped.value.action
    assert action == Action(
        "roll migration move-web back to east",
        "migration:root:tmc/move-web",
        "target cluster west is not ready",
        destructive=True,
    )
    assert stopped.value.evidence[0].startswith("read migration move-web: east -> west")
    assert stopped.value.evidence[-1].startswith("probed target cluster west")
    stored = await sim.admin.get_object(TMC, migration_ref("move-web"))
    assert "action" not in stored["spec"]
    assert stored["status"]["phase"] == "Failed"


async def test_a_resume_onto_a_healthy_target_declares_nothing_destructive(
    sim: FleetSimulator, migrator: MigrationRecovery
) -> None:
    gate = Gatekeeper()
    outcome = await migrator.execute(gate.context(), MIGRATION, attempt())
    assert outcome.success
    assert gate.declared == []


async def test_a_dry_run_plans_the_rollback_without_declaring_it(
    sim: FleetSimulator, migrator: MigrationRecovery
) -> None:
    await sim.admin.set_fault("west", FaultMode.DOWN)
    gate = Gatekeeper()
    outcome = await migrator.execute(gate.context(dry_run=True), MIGRATION, attempt())
    assert outcome.actions[-1] == "would roll migration move-web back to east"
    assert gate.declared == []


async def test_moving_a_placement_off_its_cluster_is_destructive(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    await sim.admin.put_object(TMC, placement("web", "east", {}, cpu="500m"))

    with pytest.raises(ApprovalRequired) as stopped:
        await PlacementRecovery(gateway).execute(Gatekeeper().context(), PLACEMENT, attempt())

    assert stopped.value.action.description == "move placement web off east to west"
    assert stopped.value.action.destructive
    stored = await sim.admin.get_object(TMC, placement_ref("web"))
    assert stored["spec"]["cluster"] == "east"
