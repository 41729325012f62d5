"""The Kubernetes and TMC resources the strategies touch, and how their wire values read.

SyncTargets, Placements and Migrations are TMC's CRDs (``tmc.kcp.io/v1alpha1``,
cluster-scoped in a workspace, each with a status subresource), as tests/kube installs
them on a real kube-apiserver. A Migration's checkpoint is an object whose ``step`` names
the last step done.
Quantities parse as the API server writes them (``500m``, ``2``, ``1Gi``, ``512M``), so
capacity sums match ``kubectl describe node``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from schemas.records import ResourceRef
from strategies.gateway import Capacity, KubeObject, ObjectRef, Resources

TMC_API = "tmc.kcp.io/v1alpha1"
#: Set on a SyncTarget to ask its syncer for a full re-sync; the syncer echoes it in status.
RESYNC_ANNOTATION = "tmc.kcp.io/resync-requested"
#: ``kubectl apply``'s record of the last applied configuration: the merge's "original".
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

_IRREGULAR_PLURALS = {"Ingress": "ingresses", "NetworkPolicy": "networkpolicies"}
_SUFFIXES: dict[str, Decimal | int] = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "m": Decimal("0.001"),
}
_QUANTITY = re.compile(r"^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")


def sync_target(name: str) -> ObjectRef:
    return ObjectRef(TMC_API, "synctargets", name)


def placement(name: str) -> ObjectRef:
    return ObjectRef(TMC_API, "placements", name)


def migration(name: str) -> ObjectRef:
    return ObjectRef(TMC_API, "migrations", name)


def plural(kind: str) -> str:
    """The REST resource of a kind, as the API server's default RESTMapper guesses it."""
    if kind in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[kind]
    lower = kind.lower()
    if lower.endswith("y"):
        return f"{lower[:-1]}ies"
    return f"{lower}es" if lower.endswith(("s", "x", "ch")) else f"{lower}s"


def object_ref(resource: ResourceRef) -> ObjectRef:
    """The REST location of an error's resource (its GVK, namespace and name)."""
    gvk = resource.gvk
    api = f"{gvk.group}/{gvk.version}" if gvk.group else gvk.version
    return ObjectRef(api, plural(gvk.kind), resource.name, resource.namespace)


def quantity(value: object) -> Decimal:
    """A Kubernetes quantity as a number (``500m`` is 0.5, ``1Gi`` is 1073741824)."""
    match = _QUANTITY.match(str(value).strip())
    if match is None:
        raise ValueError(f"not a quantity: {value!r}")
    return Decimal(match.group(1)) * _SUFFIXES[match.group(2) or ""]


def cpu_milli(value: object) -> int:
    return int(quantity(value) * 1000)


def memory_bytes(value: object) -> int:
    return int(quantity(value))


def _total(quantities: list[Any]) -> Resources:
    cpu = sum(cpu_milli(q.get("cpu", 0)) for q in quantities)
    return Resources(cpu, sum(memory_bytes(q.get("memory", 0)) for q in quantities))


def capacity_of(nodes: list[KubeObject], pods: list[KubeObject]) -> Capacity:
    """Nodes' ``status.allocatable`` against the pods' container requests; ValueError on a
    malformed quantity, KeyError or AttributeError on a malformed object."""
    allocatable = [node.get("status", {}).get("allocatable", {}) for node in nodes]
    requests = [
        container.get("resources", {}).get("requests", {})
        for pod in pods
        for container in pod.get("spec", {}).get("containers", [])
    ]
    return Capacity(_total(allocatable), _total(requests))
