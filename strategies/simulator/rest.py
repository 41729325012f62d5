"""The simulator's Kubernetes REST surface beyond readyz and SyncTarget status:

Cluster API servers (``/k8s/{cluster}`` prefix):
  ``GET`` objects and collections, ``POST`` to a collection (create; a taken name is 409
  AlreadyExists), ``PUT`` (resourceVersion checked), ``PATCH`` (merge patch) under
  ``/api/...`` and ``/apis/...``, status subresource included;
  ``POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews``. Revoked RBAC makes
  reviews deny and object calls 403.
Control plane (``/clusters/{logical}`` prefix):
  ``GET .../synctargets`` (the list), ``PATCH .../synctargets/{name}`` (metadata and
  spec; a re-sync annotation wakes the syncer), and Placements and Migrations
  (``/apis/tmc.kcp.io/v1alpha1/...``) and core objects (``/api/v1/...``: Events) like
  objects above; a Migration's ``spec.action`` is acted on by its controller in the same
  request.
Answers are what the API server sends: the object, a ``...List``, or a Status failure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from strategies.gateway import KubeObject
from strategies.resources import TMC_API
from strategies.simulator.controllers import reconcile_migration, resync
from strategies.simulator.kube import MERGE_PATCH, merge_patch, status_response
from strategies.simulator.objects import ApiFailure, ObjectStore, Request
from strategies.simulator.serving import STATE, serve
from strategies.simulator.state import MUTATING_METHODS, ClusterState

log = logging.getLogger(__name__)

USER = "system:serviceaccount:tmc-system:tmc-recovery"
_VERBS = {"GET": "get", "PUT": "update", "PATCH": "patch"}


async def _body(request: web.Request) -> Any:
    if request.method == "PATCH" and request.content_type != MERGE_PATCH:
        raise ApiFailure(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format: {request.content_type}",
        )
    try:
        return await request.json()
    except ValueError:
        raise ApiFailure(400, "BadRequest", "the body is not JSON") from None


def _list(items: list[KubeObject], kind: str) -> web.Response:
    return web.json_response(
        {"kind": f"{kind}List", "apiVersion": "v1", "metadata": {}, "items": items}
    )


async def _rest(
    request: web.Request,
    store: ObjectStore,
    path: str,
    after_write: Callable[[KubeObject], KubeObject] | None = None,
) -> KubeObject | list[KubeObject]:
    """GET, POST (create), PUT or PATCH ``path`` on ``store``; ``after_write`` is a
    controller's reaction to a PUT or PATCH."""
    parsed = Request.parse(path)
    if request.method == "GET":
        return store.list(parsed.ref) if not parsed.ref.name else store.get(parsed.ref)
    if request.method == "POST" and not parsed.ref.name and parsed.subresource is None:
        return store.create(parsed.ref, await _body(request))
    if request.method not in ("PUT", "PATCH") or not parsed.ref.name:
        raise ApiFailure(405, "MethodNotAllowed", f"{request.method} is not supported here")
    body = await _body(request)
    written = store.update(parsed, body) if request.method == "PUT" else store.patch(parsed, body)
    if after_write is None:
        return written
    reacted = after_write(written)
    return written if reacted is written else store.put(reacted)


def _answer(result: KubeObject | list[KubeObject], kind: str, method: str) -> web.Response:
    if isinstance(result, list):
        return _list(result, kind)
    return web.json_response(result, status=201 if method == "POST" else 200)


def _forbidden(request: web.Request, path: str) -> ApiFailure:
    ref = Request.parse(path).ref
    verb = _VERBS.get(request.method, request.method.lower())
    return ApiFailure(
        403,
        "Forbidden",
        f'{ref.resource} "{ref.name}" is forbidden: User "{USER}" cannot {verb} resource '
        f'"{ref.resource}" in API group "{ref.api.rpartition("/")[0]}"',
    )


async def cluster_api(request: web.Request) -> web.Response:
    cluster = request.app[STATE].clusters.get(request.match_info["cluster"])
    if cluster is None:
        return status_response(404, "NotFound", "no such cluster behind this proxy")
    path = "/" + request.match_info["path"]

    async def handle() -> web.Response:
        try:
            if not cluster.rbac_allowed:
                raise _forbidden(request, path)
            result = await _rest(request, cluster.objects, path)
            return _answer(result, _kind(path), request.method)
        except ApiFailure as failure:
            return status_response(failure.code, failure.reason, failure.message)

    return await serve(request, cluster.endpoint, handle, write=request.method in MUTATING_METHODS)


async def access_review(request: web.Request) -> web.Response:
    cluster = request.app[STATE].clusters.get(request.match_info["cluster"])
    if cluster is None:
        return status_response(404, "NotFound", "no such cluster behind this proxy")

    async def review() -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("spec"), dict):
            return status_response(400, "BadRequest", "a SelfSubjectAccessReview needs a spec")
        allowed = cluster.rbac_allowed
        reason = (
            'RBAC: allowed by ClusterRoleBinding "tmc-recovery"'
            if allowed
            else "RBAC: the ClusterRoleBinding tmc-recovery was removed"
        )
        answer = {**body, "status": {"allowed": allowed, "reason": reason}}
        return web.json_response(answer, status=201)

    return await serve(request, cluster.endpoint, review)


def _kind(path: str) -> str:
    """``Pod`` for ``.../pods``: the list kind's stem (good enough for the lists we serve)."""
    resource = Request.parse(path).ref.resource
    return resource[:-1].capitalize() if resource.endswith("s") else resource.capitalize()


async def workspace_api(request: web.Request) -> web.Response:
    state = request.app[STATE]
    store = state.workspaces[request.match_info["logical"]]
    path = "/" + request.match_info["path"]
    react = None
    if path.startswith(f"/apis/{TMC_API}/migrations/"):

        def react(migration: KubeObject) -> KubeObject:
            return reconcile_migration(state, migration)

    async def handle() -> web.Response:
        try:
            return _answer(await _rest(request, store, path, react), _kind(path), request.method)
        except ApiFailure as failure:
            return status_response(failure.code, failure.reason, failure.message)

    write = request.method in MUTATING_METHODS
    return await serve(request, state.control_plane, handle, write=write)


async def list_sync_targets(request: web.Request) -> web.Response:
    state = request.app[STATE]
    logical = request.match_info["logical"]

    async def read() -> web.Response:
        targets = [
            cluster.sync_target
            for cluster in state.clusters.values()
            if cluster.cluster.logical_cluster == logical
        ]
        return _list(targets, "SyncTarget")

    return await serve(request, state.control_plane, read)


async def patch_sync_target(request: web.Request) -> web.Response:
    """Merge-patch a SyncTarget's metadata and spec (status has its own endpoint)."""
    state = request.app[STATE]
    name = request.match_info["name"]

    async def write() -> web.Response:
        cluster = state.sync_target(request.match_info["logical"], name)
        if cluster is None:
            message = f'synctargets.tmc.kcp.io "{name}" not found'
            return status_response(404, "NotFound", message)
        try:
            patch = await _body(request)
        except ApiFailure as failure:
            return status_response(failure.code, failure.reason, failure.message)
        if not isinstance(patch, dict):
            return status_response(400, "BadRequest", "the patch must be a JSON object")
        _apply(cluster, patch)
        return web.json_response(cluster.sync_target)

    return await serve(request, state.control_plane, write, write=True)


def _apply(cluster: ClusterState, patch: dict[str, Any]) -> None:
    current = cluster.sync_target
    version = int(current["metadata"]["resourceVersion"])
    patch = {key: value for key, value in patch.items() if key != "status"}
    updated = merge_patch(current, patch)
    updated["metadata"]["resourceVersion"] = str(version + 1)
    cluster.sync_target = updated
    resync(cluster)
    log.info("SyncTarget %s patched: %s", cluster.cluster.name, sorted(patch))
