"""The seed's built-in recovery strategies, each acting through a ClusterGateway."""

from strategies.builtin.connectivity import ClusterConnectivityRecovery

__all__ = ["ClusterConnectivityRecovery"]
