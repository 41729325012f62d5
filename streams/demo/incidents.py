"""The scripted incident: the simulated fleet, and each fault with the errors its components
emit and the outcome the service must reach."""

from __future__ import annotations

import copy
import dataclasses
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from schemas.records import ErrorType, GroupVersionKind, RecoveryState, TMCError
from strategies.gateway import ObjectRef, Workspace
from strategies.resources import LAST_APPLIED, TMC_API
from strategies.simulator import FaultMode, FleetSimulator, SimulatedCluster, Syncer

LOGICAL_CLUSTERS = {"root:retail": 7, "root:payments": 7, "root:platform": 6}
WEB = ObjectRef("apps/v1", "deployments", "web", "shop")


def fleet() -> list[SimulatedCluster]:
    """20 clusters in 3 logical clusters, every other one gold, in two regions."""
    clusters = []
    for logical, count in LOGICAL_CLUSTERS.items():
        for index in range(1, count + 1):
            labels = {"tier": "gold" if index % 2 else "silver", "region": f"r{index % 2}"}
            name = f"{logical.split(':')[1]}-{index}"
            clusters.append(SimulatedCluster(name, logical, labels=labels))
    return clusters


def _logical_of(cluster: str) -> str:
    return f"root:{cluster.rsplit('-', 1)[0]}"


def error(
    error_type: ErrorType, cluster: str, component: str, operation: str, **context: Any
) -> TMCError:
    """An error as ``component`` emits it about ``cluster``; dict context travels as JSON."""
    builder = (
        TMCError.build(error_type, component, operation)
        .with_cluster(cluster, _logical_of(cluster))
        .with_message(f"{operation} failed")
    )
    for key, value in context.items():
        builder.with_context(key, json.dumps(value) if isinstance(value, dict) else value)
    return dataclasses.replace(builder.build(), event_id=str(uuid.uuid4()))


@dataclass(frozen=True)
class Incident:
    """A fault, the errors it makes components emit, and what must come of it."""

    name: str
    strategy: str
    target: str
    expected: RecoveryState
    errors: list[TMCError]
    inject: Callable[[FleetSimulator], Awaitable[None]]


def _deployment(image: str = "shop/web:1.0", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web", **labels}},
        "spec": {
            "replicas": 2,
            "template": {"spec": {"containers": [{"name": "web", "image": image}]}},
        },
    }


def _tmc(
    kind: str, name: str, spec: dict[str, Any], status: dict[str, Any] | None = None
) -> dict[str, Any]:
    obj = {"apiVersion": TMC_API, "kind": kind, "metadata": {"name": name}, "spec": spec}
    return obj if status is None else {**obj, "status": status}


def _migration(name: str, source: str, target: str) -> dict[str, Any]:
    failed = {
        "phase": "Failed",
        "checkpoint": {"step": "VolumesCopied"},
        "message": "cut-over timed out",
    }
    return _tmc("Migration", name, {"source": source, "target": target}, failed)


async def _unreachable(sim: FleetSimulator) -> None:
    await sim.admin.set_fault("retail-4", FaultMode.DOWN, for_requests=2)


async def _token(sim: FleetSimulator) -> None:
    await sim.admin.rotate_token("payments-2")


async def _conflict(sim: FleetSimulator) -> None:
    applied = _deployment()
    live = copy.deepcopy(applied)
    live["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(applied)}
    live["spec"]["replicas"] = 5  # the autoscaler's
    await sim.admin.put_object("retail-1", live)
    revision = {"metadata": {"annotations": {"deployment.kubernetes.io/revision": "7"}}}
    await sim.admin.add_conflicting_writer("retail-1", WEB, revision, times=2)


async def _full(sim: FleetSimulator) -> None:
    spec = {
        "clusterSelector": {"matchLabels": {"tier": "gold"}},
        "requests": {"cpu": "2", "memory": "4Gi"},
    }
    await sim.admin.put_object(
        Workspace("root:retail"), _tmc("Placement", "checkout", {**spec, "cluster": "retail-3"})
    )
    await sim.admin.fill("retail-3")


async def _stuck(sim: FleetSimulator) -> None:
    await sim.admin.set_syncer("platform-2", Syncer.STUCK)


async def _migration_to_healthy(sim: FleetSimulator) -> None:
    migration = _migration("move-orders", "payments-1", "payments-3")
    await sim.admin.put_object(Workspace("root:payments"), migration)


async def _migration_to_broken(sim: FleetSimulator) -> None:
    migration = _migration("move-ledger", "payments-4", "payments-5")
    await sim.admin.put_object(Workspace("root:payments"), migration)
    await sim.admin.set_fault("payments-5", FaultMode.DOWN)


async def _revoked(sim: FleetSimulator) -> None:
    await sim.admin.set_rbac("platform-4", allowed=False)


async def _transient(sim: FleetSimulator) -> None:
    """A fault that is gone by the time anyone looks: nothing to inject."""


def incidents() -> list[Incident]:
    desired = _deployment(image="shop/web:2.0", version="2")
    C, E = RecoveryState.COMPLETED, RecoveryState.ESCALATED
    return [
        Incident(
            "cluster unreachable, syncer storm",
            "ClusterConnectivity",
            "retail-4",
            C,
            [
                error(ErrorType.CLUSTER_UNREACHABLE, "retail-4", "syncer", "heartbeat")
                for _ in range(40)
            ],
            _unreachable,
        ),
        Incident(
            "expired token",
            "ClusterAuth",
            "payments-2",
            C,
            [error(ErrorType.CLUSTER_AUTHENTICATION, "payments-2", "syncer", "list")],
            _token,
        ),
        Incident(
            "conflict storm on one deployment",
            "ResourceConflict",
            "retail-1/deployments.apps shop/web",
            C,
            [
                dataclasses.replace(_resource_error(desired), event_id=str(uuid.uuid4()))
                for _ in range(100)
            ],
            _conflict,
        ),
        Incident(
            "full cluster",
            "Placement",
            "placement:root:retail/checkout",
            C,
            [
                error(
                    ErrorType.PLACEMENT_CAPACITY,
                    "retail-3",
                    "placement-controller",
                    "schedule",
                    placement="checkout",
                )
            ],
            _full,
        ),
        Incident(
            "stuck sync",
            "Sync",
            "platform-2",
            C,
            [error(ErrorType.SYNC_TIMEOUT, "platform-2", "syncer", "sync")],
            _stuck,
        ),
        Incident(
            "half-done migration, healthy target",
            "Migration",
            "migration:root:payments/move-orders",
            C,
            [
                error(
                    ErrorType.MIGRATION_FAILURE,
                    "payments-3",
                    "migrator",
                    "cutover",
                    migration="move-orders",
                )
            ],
            _migration_to_healthy,
        ),
        Incident(
            "half-done migration, target broken: rollback",
            "Migration",
            "migration:root:payments/move-ledger",
            C,
            [
                error(
                    ErrorType.MIGRATION_TIMEOUT,
                    "payments-5",
                    "migrator",
                    "cutover",
                    migration="move-ledger",
                )
            ],
            _migration_to_broken,
        ),
        Incident(
            "retryable error, no typed strategy",
            "Generic",
            "platform-3",
            C,
            [error(ErrorType.AGGREGATION_FAILURE, "platform-3", "aggregator", "aggregate")],
            _transient,
        ),
        Incident(
            "permanent fault: RBAC revoked",
            "ClusterAuth",
            "platform-4",
            E,
            [error(ErrorType.CLUSTER_AUTHENTICATION, "platform-4", "syncer", "list")],
            _revoked,
        ),
    ]


def _resource_error(desired: dict[str, Any]) -> TMCError:
    built = (
        TMCError.build(ErrorType.RESOURCE_CONFLICT, "syncer", "update")
        .with_cluster("retail-1", "root:retail")
        .with_resource(GroupVersionKind("v1", "Deployment", "apps"), "shop", "web")
        .with_context("desired", json.dumps(desired))
        .with_message("the object has been modified")
    )
    return built.build()
