"""Generic: the fallback for retryable errors only; it checks the cluster and retries reads
itself, else hands ``retry:<operation>`` back to the component."""

import pytest

from schemas.records import ErrorType
from strategies.adapters.http_gateway import HttpClusterGateway
from strategies.base import RecoveryFailed
from strategies.builtin import GenericRecovery, builtin_strategies
from strategies.registry import StrategyRegistry
from strategies.simulator import FaultMode, FleetSimulator
from tests.strategies.kube_objects import WEB, deployment
from tests.strategies.scenario import DRY_RUN, RUN, attempt, error


@pytest.fixture
def generic(gateway: HttpClusterGateway) -> GenericRecovery:
    return GenericRecovery(gateway, wait_s=0.01)


def test_takes_retryable_errors_no_typed_strategy_takes(gateway: HttpClusterGateway) -> None:
    registry = StrategyRegistry(builtin_strategies(gateway))
    database = error(ErrorType.DATABASE, retryable=True)
    chosen = registry.select(database)
    assert chosen is not None
    assert (chosen.name, chosen.priority) == ("Generic", 10)
    assert registry.select(error(ErrorType.DATABASE, retryable=False)) is None
    typed = registry.select(error(ErrorType.CLUSTER_AUTHENTICATION, retryable=True))
    assert typed is not None
    assert typed.name == "ClusterAuth"


async def test_a_healthy_cluster_hands_the_retry_back(generic: GenericRecovery) -> None:
    outcome = await generic.execute(RUN, error(ErrorType.DATABASE, operation="store"), attempt())
    assert outcome.next_steps == ("retry:store",)
    assert outcome.actions[1].startswith("probed cluster east readiness: healthy")


async def test_a_failed_read_is_redone_through_the_gateway(
    sim: FleetSimulator, generic: GenericRecovery
) -> None:
    await sim.admin.put_object("east", deployment())
    failed_read = error(ErrorType.INTERNAL_ERROR, ref=WEB, operation="get")
    outcome = await generic.execute(RUN, failed_read, attempt())
    assert outcome.message == "get on cluster east works again"
    assert outcome.next_steps == ()


async def test_an_unready_cluster_is_retried_and_an_unknown_one_is_final(
    sim: FleetSimulator, generic: GenericRecovery
) -> None:
    await sim.admin.set_fault("east", FaultMode.DOWN)
    with pytest.raises(RecoveryFailed) as unready:
        await generic.execute(RUN, error(ErrorType.DATABASE), attempt())
    with pytest.raises(RecoveryFailed) as unknown:
        await generic.execute(RUN, error(ErrorType.DATABASE, "atlantis"), attempt())
    assert unready.value.retryable
    assert not unknown.value.retryable
    assert "add cluster atlantis to the fleet file" in unknown.value.next_steps[0]


async def test_an_error_without_a_cluster_is_the_components_to_retry(
    generic: GenericRecovery,
) -> None:
    outcome = await generic.execute(RUN, error(ErrorType.DATABASE, None, operation="x"), attempt())
    assert outcome.next_steps == ("retry:x",)


async def test_dry_run_only_plans(sim: FleetSimulator, generic: GenericRecovery) -> None:
    outcome = await generic.execute(DRY_RUN, error(ErrorType.DATABASE), attempt())
    assert outcome.actions[-1] == "would retry:update"
    assert (await sim.admin.cluster("east"))["requests"] == []
