"""What the built-ins have in common: they act through a gateway on what an error names,
either a cluster or an object of the control plane (a Placement, a Migration). An error
that does not name it is not theirs (``can_recover`` is False), so the registry passes it
on; ``execute`` still refuses it for good if it is handed one anyway."""

from __future__ import annotations

from typing import ClassVar

from schemas.records import TMCError
from strategies.base import RecoveryFailed, RecoveryStrategy
from strategies.gateway import ClusterGateway


class GatewayStrategy(RecoveryStrategy):
    def __init__(self, gateway: ClusterGateway) -> None:
        self._gateway = gateway


class ClusterStrategy(GatewayStrategy):
    """Heals a cluster the error names."""

    def can_recover(self, error: TMCError) -> bool:
        return super().can_recover(error) and error.cluster_name is not None

    @staticmethod
    def cluster_of(error: TMCError) -> str:
        if error.cluster_name is None:
            raise RecoveryFailed("the error names no cluster", retryable=False)
        return error.cluster_name


class WorkspaceObjectStrategy(GatewayStrategy):
    """Heals an object of the control plane: the error's context names it under the kind's
    lower-case name (``migration: move-web``), or the error's resource is one."""

    kind: ClassVar[str]

    def object_name(self, error: TMCError) -> str | None:
        named = error.context.get(self.kind.lower())
        if named is None and error.resource is not None and error.resource.gvk.kind == self.kind:
            named = error.resource.name
        return named

    def can_recover(self, error: TMCError) -> bool:
        return (
            super().can_recover(error)
            and error.logical_cluster is not None
            and self.object_name(error) is not None
        )

    def target(self, error: TMCError) -> str:
        """``migration:root:tmc/move-web``: errors about one object merge (per cluster, as
        all dedup state is kept on its cluster's partition)."""
        return f"{self.kind.lower()}:{error.logical_cluster}/{self.object_name(error)}"

    def named(self, error: TMCError) -> tuple[str, str]:
        """The logical cluster and the object's name."""
        name = self.object_name(error)
        if name is None or error.logical_cluster is None:
            raise RecoveryFailed(f"the error names no {self.kind}", retryable=False)
        return error.logical_cluster, name
