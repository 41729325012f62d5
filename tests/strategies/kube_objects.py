"""Objects the strategy tests seed: a Deployment, a Placement and a Migration, as their
API servers would hold them."""

import copy
import json
from typing import Any

from strategies.gateway import ObjectRef
from strategies.resources import LAST_APPLIED, TMC_API
from strategies.simulator import FleetSimulator

WEB = ObjectRef("apps/v1", "deployments", "web", "shop")
REVISION = "deployment.kubernetes.io/revision"


def deployment(replicas: int = 2, image: str = "shop/web:1.0", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web", **labels}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }


async def applied_then_scaled(sim: FleetSimulator, cluster: str = "east") -> dict[str, Any]:
    """Applied at 2 replicas with image 1.0; since then an autoscaler set 5 replicas and
    someone labelled it team=payments. Returns what was applied (the original)."""
    original = deployment()
    live = copy.deepcopy(original)
    live["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(original)}
    live["metadata"]["labels"]["team"] = "payments"
    live["spec"]["replicas"] = 5
    await sim.admin.put_object(cluster, live)
    return original


def placement(
    name: str, cluster: str, selector: dict[str, str], cpu: str = "1", memory: str = "1Gi"
) -> dict[str, Any]:
    """A Placement of workload shop/web on ``cluster``, allowed on clusters matching
    ``selector``, needing ``cpu`` and ``memory``."""
    return {
        "apiVersion": TMC_API,
        "kind": "Placement",
        "metadata": {"name": name},
        "spec": {
            "workload": {"namespace": "shop", "name": "web"},
            "clusterSelector": {"matchLabels": selector},
            "requests": {"cpu": cpu, "memory": memory},
            "cluster": cluster,
        },
    }


def migration(name: str, source: str, target: str, checkpoint: str) -> dict[str, Any]:
    """A migration that failed half-way, at ``checkpoint``."""
    return {
        "apiVersion": TMC_API,
        "kind": "Migration",
        "metadata": {"name": name},
        "spec": {"source": source, "target": target, "workload": {"namespace": "shop"}},
        "status": {
            "phase": "Failed",
            "checkpoint": {"step": checkpoint},
            "message": "target API server timed out during cut-over",
        },
    }
