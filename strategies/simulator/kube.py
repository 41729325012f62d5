"""The Kubernetes wire details the simulator imitates: Status error bodies, JSON merge patch
(RFC 7386), SyncTarget objects and the API server's checks on status conditions."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from strategies.adapters.conditions import rfc3339

SYNCTARGET_API_VERSION = "tmc.kcp.io/v1alpha1"
MERGE_PATCH = "application/merge-patch+json"
_REASON = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
_CONDITION_STATUSES = frozenset({"True", "False", "Unknown"})


def status_response(code: int, reason: str, message: str) -> web.Response:
    """A ``metav1.Status`` failure, as the API server sends for every error."""
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return web.json_response(body, status=code)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, ``null`` deletes, anything else (lists too) replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def new_sync_target(name: str, logical_cluster: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """A registered SyncTarget whose syncer heartbeats, before anyone judged its readiness."""
    return {
        "apiVersion": SYNCTARGET_API_VERSION,
        "kind": "SyncTarget",
        "metadata": {
            "name": name,
            "uid": str(uuid.uuid4()),
            "resourceVersion": "1",
            "labels": dict(labels),
            "annotations": {"kcp.io/cluster": logical_cluster},
        },
        "spec": {},
        "status": {
            "conditions": [
                {
                    "type": "HeartbeatHealthy",
                    "status": "True",
                    "reason": "HeartbeatReceived",
                    "message": "",
                    "lastTransitionTime": rfc3339(datetime.now(UTC)),
                }
            ]
        },
    }


def new_node(name: str, cpu: str, memory: str) -> dict[str, Any]:
    """A ready node with this much allocatable CPU and memory."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "uid": str(uuid.uuid4())},
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"}},
    }


def new_pod(namespace: str, name: str, cpu: str, memory: str) -> dict[str, Any]:
    """A running pod of one container requesting this much CPU and memory."""
    requests = {"cpu": cpu, "memory": memory}
    container = {"name": "main", "image": "busybox", "resources": {"requests": requests}}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4())},
        "spec": {"containers": [container]},
        "status": {"phase": "Running"},
    }


def set_status_condition(
    obj: dict[str, Any], kind: str, status: bool, reason: str, message: str
) -> None:
    """Set one condition in ``obj``'s status (a fresh transition time), as a controller does."""
    condition = {
        "type": kind,
        "status": "True" if status else "False",
        "reason": reason,
        "message": message,
        "lastTransitionTime": rfc3339(datetime.now(UTC)),
    }
    state = obj.setdefault("status", {})
    others = [c for c in state.get("conditions", []) if c.get("type") != kind]
    state["conditions"] = [*others, condition]


def invalid_conditions(status: Any) -> str | None:
    """Why the API server would reject ``status.conditions`` (422), or None when it is valid."""
    if not isinstance(status, dict):
        return "status: must be an object"
    conditions = status.get("conditions", [])
    if not isinstance(conditions, list):
        return "status.conditions: must be a list"
    seen: set[str] = set()
    for index, condition in enumerate(conditions):
        where = f"status.conditions[{index}]"
        if not isinstance(condition, dict) or not isinstance(condition.get("type"), str):
            return f"{where}.type: Required value"
        if condition["type"] in seen:
            return f"{where}.type: Duplicate value: {condition['type']!r}"
        seen.add(condition["type"])
        if condition.get("status") not in _CONDITION_STATUSES:
            return f"{where}.status: Unsupported value: {condition.get('status')!r}"
        if not _REASON.match(str(condition.get("reason", ""))):
            return f"{where}.reason: Invalid value: must be CamelCase"
        if not isinstance(condition.get("lastTransitionTime"), str):
            return f"{where}.lastTransitionTime: Required value"
    return None
