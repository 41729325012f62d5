"""The admin API's fault injection beyond endpoint faults (all under ``/_sim/``, admin token):

- ``POST /_sim/clusters/{cluster}/token`` ``{"action": "rotate" | "expire"}``: the token in
  use stops working; ``rotate`` issues a new one and writes it to the fleet's token file
  (as a projected service-account token is rotated on disk), ``expire`` does not.
- ``POST /_sim/clusters/{cluster}/rbac`` ``{"allowed": false}``: revoke (or restore) RBAC.
- ``PUT /_sim/clusters/{cluster}/objects``: create or replace an object as given;
  ``GET /_sim/clusters/{cluster}/objects?path=/apis/...``: read one.
- ``POST /_sim/clusters/{cluster}/writer`` ``{"path", "patch", "times"}``: a conflicting
  writer that changes the object before each of the next ``times`` writes to it.
- ``POST /_sim/clusters/{cluster}/fill``: a pod that requests every free CPU and byte.
- ``POST /_sim/clusters/{cluster}/syncer`` ``{"state": "healthy" | "stuck" | "wedged"}``.
- ``PUT`` and ``GET /_sim/workspaces/{logical}/objects[?path=...]``: the same for the
  control plane's Placements and Migrations.
"""

from __future__ import annotations

import logging
import os
from enum import StrEnum
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from strategies.resources import capacity_of
from strategies.simulator.controllers import set_syncer
from strategies.simulator.kube import new_pod
from strategies.simulator.objects import ApiFailure, ObjectStore, Request
from strategies.simulator.serving import STATE
from strategies.simulator.state import ClusterState, Syncer, new_token

log = logging.getLogger(__name__)


class TokenAction(StrEnum):
    ROTATE = "rotate"
    EXPIRE = "expire"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Body = TypeVar("Body", bound=BaseModel)


class TokenChange(_Body):
    action: TokenAction


class RbacChange(_Body):
    allowed: bool


class ConflictingWriterSpec(_Body):
    path: str
    patch: dict[str, Any]
    times: int = Field(default=1, ge=1)


class SyncerChange(_Body):
    state: Syncer


async def parse_body(request: web.Request, model: type[Body]) -> Body:
    """The admin request's body as ``model``; 400 naming each bad field otherwise."""
    try:
        return model.model_validate_json(await request.read())
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise web.HTTPBadRequest(text=problems) from None


def _cluster(request: web.Request) -> ClusterState:
    cluster = request.app[STATE].clusters.get(request.match_info["cluster"])
    if cluster is None:
        raise web.HTTPNotFound(text=f"no simulated cluster {request.match_info['cluster']!r}")
    return cluster


def _api_error(failure: ApiFailure) -> web.HTTPException:
    if failure.code == 404:
        return web.HTTPNotFound(text=failure.message)
    return web.HTTPBadRequest(text=failure.message)


async def change_token(request: web.Request) -> web.Response:
    cluster = _cluster(request)
    change = await parse_body(request, TokenChange)
    cluster.endpoint.token = new_token()
    if change.action is TokenAction.ROTATE and cluster.token_file is not None:
        descriptor = os.open(cluster.token_file, os.O_WRONLY | os.O_TRUNC)
        with os.fdopen(descriptor, "w") as file:
            file.write(cluster.endpoint.token)
    log.info("cluster %s: token %sd", cluster.cluster.name, change.action.value)
    return web.json_response({"token": change.action.value})


async def change_rbac(request: web.Request) -> web.Response:
    cluster = _cluster(request)
    cluster.rbac_allowed = (await parse_body(request, RbacChange)).allowed
    return web.json_response(cluster.describe())


async def add_writer(request: web.Request) -> web.Response:
    cluster = _cluster(request)
    spec = await parse_body(request, ConflictingWriterSpec)
    try:
        cluster.objects.add_writer(Request.parse(spec.path).ref, spec.patch, spec.times)
    except ApiFailure as failure:
        raise _api_error(failure) from None
    return web.json_response({"path": spec.path, "times": spec.times})


async def fill(request: web.Request) -> web.Response:
    """Start a pod that takes whatever the nodes have left, so nothing else fits."""
    store = _cluster(request).objects
    pods = store.list(Request.parse("/api/v1/pods").ref)
    free = capacity_of(store.list(Request.parse("/api/v1/nodes").ref), pods).free
    hog = new_pod("batch", f"hog-{len(pods) + 1}", f"{free.cpu_milli}m", str(free.memory_bytes))
    return web.json_response(store.put(hog))


async def change_syncer(request: web.Request) -> web.Response:
    cluster = _cluster(request)
    set_syncer(cluster, (await parse_body(request, SyncerChange)).state)
    return web.json_response(cluster.describe())


def _store(request: web.Request) -> ObjectStore:
    if "cluster" in request.match_info:
        return _cluster(request).objects
    return request.app[STATE].workspaces[request.match_info["logical"]]


async def put_object(request: web.Request) -> web.Response:
    try:
        body = await request.json()
        return web.json_response(_store(request).put(body))
    except (ValueError, KeyError, TypeError) as exc:
        raise web.HTTPBadRequest(text=f"not a Kubernetes object: {exc}") from None


async def get_object(request: web.Request) -> web.Response:
    try:
        return web.json_response(_store(request).get(Request.parse(request.query["path"]).ref))
    except KeyError:
        raise web.HTTPBadRequest(text="give the object's path as ?path=") from None
    except ApiFailure as failure:
        raise _api_error(failure) from None


def add_routes(app: web.Application) -> None:
    for prefix in ("/_sim/clusters/{cluster}", "/_sim/workspaces/{logical}"):
        app.router.add_put(f"{prefix}/objects", put_object)
        app.router.add_get(f"{prefix}/objects", get_object)
    app.router.add_post("/_sim/clusters/{cluster}/token", change_token)
    app.router.add_post("/_sim/clusters/{cluster}/rbac", change_rbac)
    app.router.add_post("/_sim/clusters/{cluster}/writer", add_writer)
    app.router.add_post("/_sim/clusters/{cluster}/fill", fill)
    app.router.add_post("/_sim/clusters/{cluster}/syncer", change_syncer)
