"""A simulated fleet on loopback, the real HTTP adapter pointed at it, and the strategy."""

from collections.abc import AsyncIterator

import pytest

from schemas.records import ErrorType, RecoveryContext, TMCError
from strategies.adapters.http_gateway import HttpClusterGateway
from strategies.builtin import ClusterConnectivityRecovery
from strategies.simulator import FleetSimulator

#: Healthy paths: generous, so a loaded machine (or coverage) never turns "ok" into a timeout.
PROBE_TIMEOUT_S = 5.0
REQUEST_TIMEOUT_S = 5.0
#: Only where a hang is the point: the test waits this long for every hung probe.
HANG_PROBE_TIMEOUT_S = 0.3


@pytest.fixture
async def sim() -> AsyncIterator[FleetSimulator]:
    async with FleetSimulator(["east", "west"]) as simulator:
        yield simulator


@pytest.fixture
async def gateway(sim: FleetSimulator) -> AsyncIterator[HttpClusterGateway]:
    async with HttpClusterGateway(
        sim.fleet, probe_timeout_s=PROBE_TIMEOUT_S, request_timeout_s=REQUEST_TIMEOUT_S
    ) as adapter:
        yield adapter


@pytest.fixture
async def impatient_gateway(sim: FleetSimulator) -> AsyncIterator[HttpClusterGateway]:
    """For hung clusters only: probes give up after HANG_PROBE_TIMEOUT_S."""
    async with HttpClusterGateway(
        sim.fleet, probe_timeout_s=HANG_PROBE_TIMEOUT_S, request_timeout_s=REQUEST_TIMEOUT_S
    ) as adapter:
        yield adapter


@pytest.fixture
def strategy(gateway: HttpClusterGateway) -> ClusterConnectivityRecovery:
    return ClusterConnectivityRecovery(gateway, reprobes=2, reprobe_delay_s=0.05)


@pytest.fixture
def impatient_strategy(impatient_gateway: HttpClusterGateway) -> ClusterConnectivityRecovery:
    return ClusterConnectivityRecovery(impatient_gateway, reprobes=2, reprobe_delay_s=0.05)


def unreachable(cluster: str, error_type: ErrorType = ErrorType.CLUSTER_UNREACHABLE) -> TMCError:
    return (
        TMCError.build(error_type, "syncer", "sync-deployment")
        .with_cluster(cluster, "root:tmc")
        .with_message("dial tcp 10.0.0.7:6443: connect: connection refused")
        .build()
    )


def attempt(cluster: str, number: int = 1) -> RecoveryContext:
    return RecoveryContext(attempt=number, max_attempts=3, cluster_name=cluster)
