"""Placement through the HTTP adapter against the simulator: the workload moves to a matching
cluster with room, and the outcome says why; no matching cluster fails for good."""

from collections.abc import AsyncIterator

import pytest

from schemas.records import ErrorType, TMCError
from strategies.adapters.http_gateway import HttpClusterGateway
from strategies.base import RecoveryFailed
from strategies.builtin import PlacementRecovery
from strategies.gateway import Workspace
from strategies.resources import placement as placement_ref
from strategies.simulator import FleetSimulator, SimulatedCluster
from tests.strategies.kube_objects import placement
from tests.strategies.scenario import DRY_RUN, RUN, attempt, error

TMC = Workspace("root:tmc")
WEB = placement_ref("web")


@pytest.fixture
async def sim() -> AsyncIterator[FleetSimulator]:
    gold = {"tier": "gold"}
    clusters = [
        SimulatedCluster("east", labels=gold),
        SimulatedCluster("west", labels=gold, nodes=1),
        SimulatedCluster("north", labels=gold, nodes=1, node_cpu="2"),
        SimulatedCluster("south", labels={"tier": "bronze"}, nodes=4),
    ]
    async with FleetSimulator(clusters) as simulator:
        yield simulator


@pytest.fixture
async def placer(gateway: HttpClusterGateway) -> PlacementRecovery:
    return PlacementRecovery(gateway)


def full(cluster: str = "east") -> TMCError:
    return error(ErrorType.PLACEMENT_CAPACITY, cluster, operation="place", placement="web")


async def test_targets_the_placement(placer: PlacementRecovery) -> None:
    assert placer.target(full()) == "placement:root:tmc/web"
    assert not placer.can_recover(error(ErrorType.PLACEMENT_POLICY))
    assert (placer.priority, placer.timeout.total_seconds()) == (60, 300)


async def test_moves_the_workload_to_the_matching_cluster_with_most_room(
    sim: FleetSimulator, placer: PlacementRecovery
) -> None:
    await sim.admin.put_object(TMC, placement("web", "east", {"tier": "gold"}, cpu="1500m"))
    await sim.admin.fill("east")
    await sim.admin.fill("west")

    outcome = await placer.execute(RUN, full(), attempt())

    stored = await sim.admin.get_object(TMC, WEB)
    assert stored["spec"]["cluster"] == "north"
    again = await placer.execute(RUN, full(), attempt(2))
    assert again.message == "placement web has already moved from east to north"
    why = stored["metadata"]["annotations"]["tmc.kcp.io/placement-reason"]
    assert why.startswith("north has the most room of the 1 fitting cluster(s) (2000m CPU")
    assert "south: labels do not match" in outcome.message
    assert "west: full (0m CPU, 0Mi memory free)" in outcome.message
    assert outcome.metrics == {"capacity_reads": 2, "clusters_considered": 2, "clusters_fitting": 1}


async def test_full_matching_clusters_are_retried_and_no_match_is_final(
    sim: FleetSimulator, placer: PlacementRecovery
) -> None:
    await sim.admin.put_object(TMC, placement("web", "east", {"tier": "gold"}, cpu="3"))
    await sim.admin.fill("west")
    with pytest.raises(RecoveryFailed, match="has room for 3000m CPU") as crowded:
        await placer.execute(RUN, full(), attempt())
    await sim.admin.put_object(TMC, placement("web", "south", {"tier": "bronze"}))
    with pytest.raises(RecoveryFailed, match="besides south matches tier=bronze") as nowhere:
        await placer.execute(RUN, full("south"), attempt())

    assert crowded.value.retryable
    assert not nowhere.value.retryable
    assert "relax placement web's clusterSelector" in nowhere.value.next_steps[1]


async def test_dry_run_names_the_choice_and_writes_nothing(
    sim: FleetSimulator, placer: PlacementRecovery
) -> None:
    before = await sim.admin.put_object(TMC, placement("web", "east", {"tier": "gold"}))
    outcome = await placer.execute(DRY_RUN, full(), attempt())
    assert outcome.message.startswith("dry run: placement web should move from east to west")
    assert await sim.admin.get_object(TMC, WEB) == before
