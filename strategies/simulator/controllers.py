"""The controllers the simulator stands in for, reacting at once to what a client writes:

- the syncer, to a re-sync request on its SyncTarget: a stuck syncer starts again and
  reports ``Synced=True``; a wedged one echoes the request but stays ``Synced=False``;
- the migration controller, to ``spec.action`` on a Migration: ``Resume`` from the
  checkpoint in ``status`` completes when the target cluster is healthy; ``Rollback``
  moves the workload back when the source cluster is healthy; otherwise ``Failed``. It
  records the generation it acted on in ``status.observedGeneration``.
"""

from __future__ import annotations

from typing import Any

from strategies.resources import RESYNC_ANNOTATION
from strategies.simulator.kube import set_status_condition
from strategies.simulator.state import ClusterState, SimulatorState, Syncer

_ACTIVE = frozenset({"Pending", "Running", "Failed", "Paused"})


def set_syncer(cluster: ClusterState, syncer: Syncer) -> None:
    """Put the syncer in a state and report it on the SyncTarget, as a syncer would."""
    cluster.syncer = syncer
    if syncer is Syncer.HEALTHY:
        synced = (True, "Synced", "all resources are in sync")
    else:
        synced = (False, "SyncerStuck", "the syncer has made no progress for 10m")
    set_status_condition(cluster.sync_target, "Synced", *synced)


def resync(cluster: ClusterState) -> None:
    """The syncer's answer to a re-sync request on its SyncTarget."""
    request = cluster.sync_target["metadata"].get("annotations", {}).get(RESYNC_ANNOTATION)
    status = cluster.sync_target.setdefault("status", {})
    if request is None or status.get("observedResync") == request:
        return
    status["observedResync"] = request
    if cluster.syncer is Syncer.WEDGED:
        message = "re-sync requested, but the syncer is wedged: its queue does not drain"
        set_status_condition(cluster.sync_target, "Synced", False, "SyncerWedged", message)
        return
    set_syncer(cluster, Syncer.HEALTHY)


def reconcile_migration(state: SimulatorState, migration: dict[str, Any]) -> dict[str, Any]:
    """The migration after its controller has acted on ``spec.action`` (a new status)."""
    spec, status = migration.get("spec", {}), dict(migration.get("status", {}))
    action, phase = spec.get("action"), status.get("phase", "Pending")
    generation = migration["metadata"].get("generation", 1)
    if status.get("observedGeneration") == generation:
        return migration
    if phase in _ACTIVE and action == "Resume":
        status.update(_resume(state, spec, status))
    elif phase in _ACTIVE and action == "Rollback":
        status.update(_rollback(state, spec))
    return {**migration, "status": {**status, "observedGeneration": generation}}


def _healthy(state: SimulatorState, name: object) -> bool:
    cluster = state.clusters.get(str(name))
    return cluster is not None and cluster.healthy()


def _resume(state: SimulatorState, spec: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    checkpoint = (status.get("checkpoint") or {}).get("step")
    if spec.get("resumeFrom") != checkpoint:
        return {"phase": "Failed", "message": f"resumeFrom is not the checkpoint {checkpoint!r}"}
    target = spec.get("target")
    if not _healthy(state, target):
        return {"phase": "Failed", "message": f"target cluster {target} is not ready"}
    return {
        "phase": "Completed",
        "checkpoint": {"step": "CutOver"},
        "message": f"resumed from {checkpoint}; the workload runs on {target}",
    }


def _rollback(state: SimulatorState, spec: dict[str, Any]) -> dict[str, Any]:
    source = spec.get("source")
    if not _healthy(state, source):
        return {
            "phase": "Failed",
            "message": f"rollback failed: source cluster {source} is not ready",
        }
    return {"phase": "RolledBack", "message": f"the workload is back on {source}"}
