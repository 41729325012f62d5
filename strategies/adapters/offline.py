"""A gateway for commands that only name strategies (``topics create`` needs their names
for the request topics and may run where there is no fleet file): any call is an error."""

from __future__ import annotations

from typing import NoReturn

from schemas.records import RecoveryEvent
from strategies.gateway import (
    AccessReview,
    Capacity,
    ClusterHealth,
    ClusterInfo,
    Credentials,
    GatewayError,
    KubeObject,
    Location,
    Migration,
    ObjectRef,
    ProbeResult,
    SyncStatus,
)


def _refuse() -> NoReturn:
    raise GatewayError("no fleet: this command does not act on clusters")


class NoFleet:
    async def probe(self, cluster: str) -> ProbeResult:
        _refuse()

    async def refresh_connection(self, cluster: str) -> None:
        _refuse()

    async def record_health(self, cluster: str, health: ClusterHealth) -> None:
        _refuse()

    async def recorded_health(self, cluster: str) -> ClusterHealth | None:
        _refuse()

    async def record_event(self, cluster: str, event: RecoveryEvent) -> None:
        _refuse()

    async def refresh_credentials(self, cluster: str) -> Credentials:
        _refuse()

    async def review_access(
        self, cluster: str, verb: str, resource: str, group: str = "", namespace: str | None = None
    ) -> AccessReview:
        _refuse()

    async def get_object(self, where: Location, ref: ObjectRef) -> KubeObject:
        _refuse()

    async def update_object(self, where: Location, ref: ObjectRef, obj: KubeObject) -> KubeObject:
        _refuse()

    async def read_capacity(self, cluster: str) -> Capacity:
        _refuse()

    async def list_clusters(self, logical_cluster: str) -> list[ClusterInfo]:
        _refuse()

    async def trigger_resync(self, cluster: str, request_id: str) -> None:
        _refuse()

    async def sync_status(self, cluster: str) -> SyncStatus:
        _refuse()

    async def get_migration(self, logical_cluster: str, name: str) -> Migration:
        _refuse()

    async def resume_migration(
        self, logical_cluster: str, name: str, checkpoint: str, request_id: str
    ) -> Migration:
        _refuse()

    async def rollback_migration(
        self, logical_cluster: str, name: str, request_id: str
    ) -> Migration:
        _refuse()
