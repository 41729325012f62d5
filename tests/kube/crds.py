"""The control plane's custom resources: SyncTarget, Placement and Migration.

Cluster-scoped like kcp's own (a logical cluster is the unit of isolation there). The
schemas are permissive, so a strategy may write fields this file does not know, but the
fields named here are typed, so a wrong write is refused with a real 422.
"""

from typing import Any

GROUP = "tmc.kcp.io"
VERSION = "v1alpha1"

Schema = dict[str, Any]

_STRING: Schema = {"type": "string"}
_TIME: Schema = {"type": "string", "format": "date-time"}
_OPEN: Schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_QUANTITIES: Schema = {
    "type": "object",
    "additionalProperties": {"x-kubernetes-int-or-string": True},
}
_CONDITIONS: Schema = {
    "type": "array",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
    "items": {
        "type": "object",
        "required": ["type", "status"],
        "properties": {
            "type": _STRING,
            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
            "reason": _STRING,
            "message": _STRING,
            "lastTransitionTime": _TIME,
        },
    },
}


def _enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


def _object(**properties: Schema) -> Schema:
    return {**_OPEN, "properties": properties}


def definition(kind: str, spec: Schema, status: Schema) -> dict[str, Any]:
    plural = kind.lower() + "s"
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Cluster",
            "names": {
                "kind": kind,
                "plural": plural,
                "singular": kind.lower(),
                "listKind": f"{kind}List",
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {"spec": spec, "status": status},
                        }
                    },
                }
            ],
        },
    }


DEFINITIONS = (
    definition(
        "SyncTarget",
        spec=_object(unschedulable={"type": "boolean"}, evictAfter=_TIME, cells=_OPEN),
        status=_object(
            conditions=_CONDITIONS,
            allocatable=_QUANTITIES,
            capacity=_QUANTITIES,
            lastSyncerHeartbeatTime=_TIME,
            syncedResources={"type": "array", "items": _OPEN},
        ),
    ),
    definition(
        "Placement",
        spec=_object(
            locationSelectors={"type": "array", "items": _OPEN},
            namespaceSelector=_OPEN,
            locationResource=_OPEN,
            locationWorkspace=_STRING,
        ),
        status=_object(
            phase=_enum("Pending", "Bound", "Unbound"),
            selectedLocation=_OPEN,
            conditions=_CONDITIONS,
        ),
    ),
    definition(
        "Migration",
        spec=_object(workload=_OPEN, source=_STRING, target=_STRING),
        status=_object(
            phase=_enum("Pending", "Running", "Paused", "Completed", "Failed", "RolledBack"),
            checkpoint=_OPEN,
            conditions=_CONDITIONS,
        ),
    ),
)
