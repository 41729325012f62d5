"""A simulated fleet on loopback: cluster API servers and a kcp control plane speaking the
REST subset of ``strategies.adapters.http_gateway``, with fault injection via an admin API."""

from strategies.simulator.admin import AdminClient, SimulatorAdminError
from strategies.simulator.faults import FaultMode
from strategies.simulator.server import FleetSimulator, SimulatorError
from strategies.simulator.state import SimulatedCluster, Syncer

__all__ = [
    "AdminClient",
    "FaultMode",
    "FleetSimulator",
    "SimulatedCluster",
    "SimulatorAdminError",
    "SimulatorError",
    "Syncer",
]
