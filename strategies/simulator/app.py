"""The simulator's HTTP routes: each cluster's API server, the kcp control plane, and the admin API.

Cluster API servers (server URL ``{base}/k8s/{cluster}``, as behind a proxy):
  ``GET /k8s/{cluster}/readyz``: ``ok``, or the injected fault.
Control plane (kcp; SyncTargets of clusters, one per cluster name):
  ``GET /clusters/{logical}/apis/tmc.kcp.io/v1alpha1/synctargets/{name}[/status]``
  ``PATCH .../synctargets/{name}/status`` with ``application/merge-patch+json``; a
  ``metadata.resourceVersion`` that is not current is 409; invalid conditions are 422.
Admin API (``Authorization: Bearer <admin token>``, else 401):
  ``GET /_sim/clusters/{cluster}``: fault, request log (with wall-clock arrival times and
  the client connection of each request), distinct connections served, health updates,
  mutations, SyncTarget.
  ``GET /_sim/clusters/{cluster}/mutations``: ``{"cluster", "mutations", "mutations_total"}``,
  every mutating request (POST, PUT, PATCH, DELETE) aimed at the cluster: on its API
  server, or on its SyncTarget on the control plane, each ``{"time", "method", "path",
  "status"}`` with ``time`` the wall-clock arrival (``time.time()``), logged on arrival
  whatever the answer (a fault's 503 or 409 too; ``status`` is null while a hung request
  waits). Routes name the cluster they touch as ``{cluster}`` (its API server) or
  ``{name}`` (its SyncTarget); that is how a mutation is attributed. Any path under
  ``/k8s/{cluster}/`` counts for that cluster, served or not (404, 405).
  ``POST /_sim/clusters/{cluster}/faults`` ``{"mode", "for_requests", "delay_s"}``.
  ``GET /_sim/controlplane`` and ``POST /_sim/controlplane/faults``, the same for kcp.
Cluster and control-plane endpoints demand their bearer token (401 otherwise); a fault
takes effect before authentication, as an outage in front of the API server would.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from strategies.adapters.http_gateway import ACCESS_REVIEWS
from strategies.simulator.faults import Fault, FaultMode, FaultSpec
from strategies.simulator.injection import add_routes, parse_body
from strategies.simulator.kube import (
    MERGE_PATCH,
    invalid_conditions,
    merge_patch,
    status_response,
)
from strategies.simulator.rest import (
    access_review,
    cluster_api,
    list_sync_targets,
    patch_sync_target,
    workspace_api,
)
from strategies.simulator.serving import CONFLICT, STATE, serve
from strategies.simulator.state import (
    MUTATING_METHODS,
    ClusterState,
    SimulatorState,
    bearer_matches,
)

log = logging.getLogger(__name__)

SYNCTARGET = "/clusters/{logical}/apis/tmc.kcp.io/v1alpha1/synctargets/{name}"


async def readyz(request: web.Request) -> web.Response:
    cluster = request.app[STATE].clusters.get(request.match_info["cluster"])
    if cluster is None:
        return status_response(404, "NotFound", "no such cluster behind this proxy")

    async def ready() -> web.Response:
        return web.Response(text="ok")

    return await serve(request, cluster.endpoint, ready, readyz=True)


def _sync_target_or_404(request: web.Request) -> ClusterState | web.Response:
    name = request.match_info["name"]
    cluster = request.app[STATE].sync_target(request.match_info["logical"], name)
    if cluster is None:
        return status_response(404, "NotFound", f'synctargets.tmc.kcp.io "{name}" not found')
    return cluster


async def get_sync_target(request: web.Request) -> web.Response:
    async def read() -> web.Response:
        found = _sync_target_or_404(request)
        return found if isinstance(found, web.Response) else web.json_response(found.sync_target)

    return await serve(request, request.app[STATE].control_plane, read)


async def _apply_status_patch(request: web.Request, cluster: ClusterState) -> web.Response:
    if request.content_type != MERGE_PATCH:
        return status_response(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format: {request.content_type}",
        )
    try:
        patch = await request.json()
    except ValueError:
        patch = None
    if not isinstance(patch, dict):
        return status_response(400, "BadRequest", "the patch must be a JSON object")
    current = cluster.sync_target
    version = current["metadata"]["resourceVersion"]
    expected = (patch.get("metadata") or {}).get("resourceVersion")
    if expected is not None and expected != version:
        return status_response(409, "Conflict", CONFLICT)
    status = merge_patch(current.get("status"), patch.get("status", {}))
    problem = invalid_conditions(status)
    if problem is not None:
        return status_response(422, "Invalid", f"SyncTarget is invalid: {problem}")
    metadata = {**current["metadata"], "resourceVersion": str(int(version) + 1)}
    cluster.sync_target = {**current, "metadata": metadata, "status": status}
    ready = next((c for c in status.get("conditions", []) if c["type"] == "Ready"), None)
    cluster.health_updates.append(ready)
    log.info("SyncTarget %s: Ready condition now %s", cluster.cluster.name, ready)
    return web.json_response(cluster.sync_target)


async def patch_status(request: web.Request) -> web.Response:
    async def write() -> web.Response:
        found = _sync_target_or_404(request)
        if isinstance(found, web.Response):
            return found
        return await _apply_status_patch(request, found)

    return await serve(request, request.app[STATE].control_plane, write, write=True)


def _admin_cluster(request: web.Request) -> ClusterState:
    cluster = request.app[STATE].clusters.get(request.match_info["cluster"])
    if cluster is None:
        raise web.HTTPNotFound(text=f"no simulated cluster {request.match_info['cluster']!r}")
    return cluster


async def admin_cluster(request: web.Request) -> web.Response:
    return web.json_response(_admin_cluster(request).describe())


async def admin_cluster_mutations(request: web.Request) -> web.Response:
    cluster = _admin_cluster(request)
    return web.json_response({"cluster": cluster.cluster.name, **cluster.describe_mutations()})


async def admin_cluster_fault(request: web.Request) -> web.Response:
    cluster = _admin_cluster(request)
    spec = await parse_body(request, FaultSpec)
    if spec.mode is FaultMode.CONFLICT:
        raise web.HTTPBadRequest(text="mode: conflict applies to the control plane only")
    cluster.endpoint.fault = Fault(spec)
    log.info("cluster %s: fault %s", cluster.cluster.name, spec.model_dump(mode="json"))
    return web.json_response(cluster.describe())


async def admin_control_plane(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].control_plane.describe())


async def admin_control_plane_fault(request: web.Request) -> web.Response:
    control_plane = request.app[STATE].control_plane
    spec = await parse_body(request, FaultSpec)
    control_plane.fault = Fault(spec)
    log.info("control plane: fault %s", spec.model_dump(mode="json"))
    return web.json_response(control_plane.describe())


@web.middleware
async def _admin_auth(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.path.startswith("/_sim/") and not bearer_matches(
        request, request.app[STATE].admin_token
    ):
        return status_response(401, "Unauthorized", "the admin API needs the admin token")
    return await handler(request)


def _aimed_at(request: web.Request) -> ClusterState | None:
    """The cluster a (non-admin) request touches, by the route's ``{cluster}`` or ``{name}``."""
    if request.path.startswith("/_sim/"):
        return None
    info = request.match_info
    name = info.get("cluster", info.get("name"))
    if name is None and request.path.startswith("/k8s/"):
        name = request.path.split("/")[2]  # a path this API server does not serve (404, 405)
    return None if name is None else request.app[STATE].clusters.get(name)


@web.middleware
async def _log_mutations(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    cluster = _aimed_at(request) if request.method in MUTATING_METHODS else None
    if cluster is None:
        return await handler(request)
    mutation = cluster.mutation(request)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        mutation.status = exc.status
        raise
    except Exception:
        mutation.status = 500
        raise
    mutation.status = response.status
    return response


async def _release_waiters(app: web.Application) -> None:
    app[STATE].stopping.set()


def build_app(state: SimulatorState) -> web.Application:
    app = web.Application(middlewares=[_admin_auth, _log_mutations])
    app[STATE] = state
    app.router.add_get("/k8s/{cluster}/readyz", readyz)
    app.router.add_post(f"/k8s/{{cluster}}{ACCESS_REVIEWS}", access_review)
    app.router.add_route("*", "/k8s/{cluster}/{path:apis?/.*}", cluster_api)
    app.router.add_get(SYNCTARGET.rpartition("/")[0], list_sync_targets)
    app.router.add_get(SYNCTARGET, get_sync_target)
    app.router.add_patch(SYNCTARGET, patch_sync_target)
    app.router.add_get(f"{SYNCTARGET}/status", get_sync_target)
    app.router.add_patch(f"{SYNCTARGET}/status", patch_status)
    app.router.add_route("*", "/clusters/{logical}/{path:apis?/.*}", workspace_api)
    add_routes(app)
    app.router.add_get("/_sim/clusters/{cluster}", admin_cluster)
    app.router.add_get("/_sim/clusters/{cluster}/mutations", admin_cluster_mutations)
    app.router.add_post("/_sim/clusters/{cluster}/faults", admin_cluster_fault)
    app.router.add_get("/_sim/controlplane", admin_control_plane)
    app.router.add_post("/_sim/controlplane/faults", admin_control_plane_fault)
    app.on_shutdown.append(_release_waiters)
    return app
