"""The seed's seven built-in recovery strategies, each acting through a ClusterGateway."""

from strategies.base import RecoveryStrategy
from strategies.builtin.auth import ClusterAuthRecovery
from strategies.builtin.conflict import ResourceConflictRecovery
from strategies.builtin.connectivity import ClusterConnectivityRecovery
from strategies.builtin.generic import GenericRecovery
from strategies.builtin.migration import MigrationRecovery
from strategies.builtin.placement import PlacementRecovery
from strategies.builtin.sync import SyncRecovery
from strategies.gateway import ClusterGateway

__all__ = [
    "ClusterAuthRecovery",
    "ClusterConnectivityRecovery",
    "GenericRecovery",
    "MigrationRecovery",
    "PlacementRecovery",
    "ResourceConflictRecovery",
    "SyncRecovery",
    "builtin_strategies",
]


def builtin_strategies(gateway: ClusterGateway) -> list[RecoveryStrategy]:
    """All seven, acting through ``gateway``."""
    return [
        ClusterAuthRecovery(gateway),
        ClusterConnectivityRecovery(gateway),
        GenericRecovery(gateway),
        MigrationRecovery(gateway),
        PlacementRecovery(gateway),
        ResourceConflictRecovery(gateway),
        SyncRecovery(gateway),
    ]
