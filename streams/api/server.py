"""The HTTP API each worker serves (aiohttp), started with the worker before its app joins
the group, so ``/livez`` answers while tables recover; it binds when the service is built,
so the URL it advertises to the group (the app's ``canonical_url``) is the one it really
listens on, even on port 0."""

import dataclasses
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web
from mode import Service
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from yarl import URL

from schemas.records import RecoveryState
from streams.api.approvals import check_awaiting
from streams.api.audit import AuditEntry, AuditLog
from streams.api.auth import Role, caller
from streams.api.commands import Commands
from streams.api.control import ControlRoutes
from streams.api.exceptions import (
    ApiBindError,
    ApiError,
    Conflict,
    NotFound,
    Relayed,
)
from streams.api.fleet import Fleet
from streams.api.query import RecoveryQuery
from streams.api.retry import refusal, retry_of
from streams.api.share import LocalShare
from streams.api.silences import SilenceRoutes
from streams.api.views import merge_status
from streams.config import ApiSettings, ApiToken
from streams.context import Shared
from streams.control.switch import Switchboard
from streams.control.view import ControlView
from streams.execution.approval import approved_by, rejected_by
from streams.silences.view import SilenceView
from streams.topology import TOPOLOGY

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _now() -> datetime:
    return datetime.now(UTC)


def _local(request: web.Request) -> bool:
    """Asked by a peer for this worker's own share (streams/api/fleet.py)."""
    return request.query.get("scope") == "local"


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        challenge = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return web.json_response({"error": str(exc)}, status=exc.status, headers=challenge)


class Routes:
    """The handlers: per-key requests go to the key's owner, lists gather every share."""

    def __init__(
        self,
        share: LocalShare,
        fleet: Fleet,
        ready: Callable[[], bool],
        registry: CollectorRegistry,
        commands: Commands,
        audit: AuditLog,
        tokens: Mapping[str, ApiToken],
        control: ControlRoutes,
        silences: SilenceRoutes,
    ) -> None:
        self.share, self.fleet, self._ready, self._registry = share, fleet, ready, registry
        self.commands, self.audit, self._tokens = commands, audit, tokens
        self.control, self.silences = control, silences

    def application(self) -> web.Application:
        app = web.Application(middlewares=[_errors])
        app.router.add_get("/status", self.status)
        app.router.add_get("/recoveries", self.recoveries)
        app.router.add_get("/recoveries/{id}", self.recovery)
        app.router.add_post("/recoveries/{id}/cancel", self.cancel)
        app.router.add_post("/recoveries/{id}/retry", self.retry)
        app.router.add_post("/recoveries/{id}/approve", self.approve)
        app.router.add_post("/recoveries/{id}/reject", self.reject)
        app.router.add_get("/clusters", self.clusters)
        app.router.add_get("/clusters/{name}", self.cluster)
        app.router.add_get("/health", self.health)
        app.router.add_get("/livez", self.livez)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)
        self.control.add_to(app)
        self.silences.add_to(app)
        return app

    async def status(self, request: web.Request) -> web.Response:
        """The Go design's GetRecoveryStatus, fleet-wide."""
        if _local(request):
            return web.json_response(self.share.status(_now()))
        shares = await self.fleet.gather("/status", {}, lambda: self.share.status(_now()))
        return web.json_response(merge_status(shares))

    async def recoveries(self, request: web.Request) -> web.Response:
        return web.json_response(
            await self._recoveries(RecoveryQuery.parse(request.query), request)
        )

    async def _one(self, request: web.Request) -> dict[str, Any]:
        """The whole row of the recovery ``{id}``; ``?cluster=`` goes straight to its
        owner, without it every worker looks in its share."""
        recovery_id = request.match_info["id"]
        params = {**request.query, "recovery_id": recovery_id, "limit": "1"}
        found = await self._recoveries(RecoveryQuery.parse(params), request)
        if not found["recoveries"]:
            raise NotFound(f"no recovery {recovery_id} in the status table")
        row: dict[str, Any] = found["recoveries"][0]
        return row

    async def recovery(self, request: web.Request) -> web.Response:
        """The whole row, and the audit entries of the changes made to it."""
        row = await self._one(request)
        row["audit"] = await self.audit.entries(row["cluster"], row["id"])
        return web.json_response(row)

    async def _change(
        self, request: web.Request, action: str, role: Role = Role.OPERATE
    ) -> tuple[AuditEntry, dict[str, Any]]:
        """A change's caller (a bearer token with ``role``) and reason (JSON body
        ``{"reason": ...}``), the row it is about, and its audit entry."""
        who = await caller(request, self._tokens, role)
        reason = who.reason()
        row = await self._one(request)
        entry = AuditEntry(who.user, who.role, action, row["cluster"], row["id"], reason)
        return entry, row

    def _answer(self, entry: AuditEntry, **more: str) -> web.Response:
        answer = {"id": entry.recovery_id, "cluster": entry.cluster, "command": entry.action}
        return web.json_response({**answer, "by": entry.user, **more}, status=202)

    async def cancel(self, request: web.Request) -> web.Response:
        """Cancel an active recovery; 202 once the command is on Kafka."""
        entry, row = await self._change(request, "cancel")
        if RecoveryState(row["state"]).is_terminal:
            raise Conflict(f"recovery {entry.recovery_id} has ended ({row['state']}): it is final")
        why = f"cancelled by {entry.user}: {entry.reason}"
        await self.audit.record(entry)
        await self.commands.cancel(entry.cluster, row["strategy"], entry.recovery_id, why)
        return self._answer(entry, reason=why)

    async def retry(self, request: web.Request) -> web.Response:
        """Run an escalated (or cancelled) recovery again: its error goes back through
        triage under a new event id and starts a new recovery; 202 once it is on Kafka."""
        entry, row = await self._change(request, "retry")
        audit = await self.audit.entries(entry.cluster, entry.recovery_id)
        why_not = refusal(row, audit)
        if why_not is not None:
            raise Conflict(why_not)
        event_id = str(uuid.uuid4())
        entry = dataclasses.replace(entry, details={"event_id": event_id})
        await self.audit.record(entry)
        await self.commands.emit(retry_of(row, event_id))
        return self._answer(entry, reason=entry.reason, event_id=event_id)

    async def approve(self, request: web.Request) -> web.Response:
        """Let a recovery awaiting approval act (approve role); 202 once sent."""
        return await self._decide(request, "approve", approved_by, self.commands.approve)

    async def reject(self, request: web.Request) -> web.Response:
        """Cancel a recovery awaiting approval (approve role), saying who and why; 202."""
        return await self._decide(request, "reject", rejected_by, self.commands.cancel)

    async def _decide(
        self,
        request: web.Request,
        action: str,
        why_of: Callable[[str, str], str],
        send: Callable[[str, str, str, str], Awaitable[None]],
    ) -> web.Response:
        entry, row = await self._change(request, action, Role.APPROVE)
        check_awaiting(row, action)
        why = why_of(entry.user, entry.reason)
        await self.audit.record(entry)
        await send(entry.cluster, row["strategy"], entry.recovery_id, why)
        return self._answer(entry, reason=why)

    async def _recoveries(self, query: RecoveryQuery, request: web.Request) -> dict[str, Any]:
        if _local(request):
            return self.share.recoveries(query)
        if query.cluster is not None:
            status, body = await self.fleet.route(
                query.cluster, "/recoveries", query.params(), lambda: self.share.recoveries(query)
            )
            if status != 200:
                raise Relayed(status, str(body.get("error")))
            return body
        shares = await self.fleet.gather(
            "/recoveries", query.params(), lambda: self.share.recoveries(query)
        )
        return query.merge(shares)

    async def clusters(self, request: web.Request) -> web.Response:
        if _local(request):
            return web.json_response(self.share.clusters(_now()))
        shares = await self.fleet.gather("/clusters", {}, lambda: self.share.clusters(_now()))
        views = sorted(
            (view for share in shares for view in share["clusters"]),
            key=lambda view: str(view["cluster_name"]),
        )
        return web.json_response({"clusters": views})

    async def cluster(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if _local(request):
            return web.json_response(self.share.cluster(name, _now()))
        path = f"/clusters/{quote(name, safe='')}"
        status, body = await self.fleet.route(
            name, path, {}, lambda: self.share.cluster(name, _now())
        )
        return web.json_response(body, status=status)

    async def health(self, request: web.Request) -> web.Response:
        """This worker's health; 503 when Unhealthy, so a load balancer can act on it."""
        verdict = self.share.health()
        return web.json_response(verdict, status=503 if verdict["status"] == "Unhealthy" else 200)

    async def livez(self, request: web.Request) -> web.Response:
        """Alive while the event loop answers; never judged on recoveries' success, so an
        outage that defeats recoveries cannot set off a restart storm."""
        return web.json_response({"status": "alive"})

    async def readyz(self, request: web.Request) -> web.Response:
        """streams/readiness.py's verdict: joined, tables recovered, caught up."""
        ready = self._ready()
        return web.json_response({"ready": ready}, status=200 if ready else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self._registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


class ApiServer(Service):
    """Binds, advertises its URL to the group (the app's canonical_url), serves, closes."""

    def __init__(self, settings: ApiSettings, routes: Routes) -> None:
        """Binds at once: a busy port stops the worker before it starts, with one line, and
        the URL is known before anything reads the app's configuration."""
        super().__init__()
        self.settings = settings
        self.routes = routes
        self._runner: web.AppRunner | None = None
        address = (settings.host, settings.port)
        try:
            self._socket = socket.create_server(address)
        except OSError as exc:
            raise ApiBindError(
                f"cannot serve the API on {settings.host}:{settings.port}: {exc.strerror} "
                "(api.host, api.port; env TMC_API__HOST, TMC_API__PORT)"
            ) from exc
        self.url = self.advertised(self._socket.getsockname()[1])
        routes.fleet.app.conf.canonical_url = self.url

    def advertised(self, port: int) -> URL:
        """The URL peers reach this worker at: configured, or the bound host and port (the
        machine's name when bound to every interface)."""
        if self.settings.advertised_url is not None:
            return URL(self.settings.advertised_url)
        host = self.settings.host
        if host in ("0.0.0.0", "::", ""):
            host = socket.gethostname()
        return URL.build(scheme="http", host=host, port=port)

    async def on_start(self) -> None:
        self._runner = web.AppRunner(self.routes.application(), access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, self._socket).start()
        log.info("api serving on %s", self.url)

    async def on_stop(self) -> None:
        await self.routes.fleet.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self._socket.close()


def api_server(
    settings: ApiSettings,
    shared: Shared,
    ready: Callable[[], bool],
    load: Callable[[], tuple[int, int]],
    control: ControlView,
    silences: SilenceView,
) -> ApiServer:
    """The worker's API over its tables and switches (``control``, the worker's view of
    them); ``ready`` and ``load`` as LocalShare takes them."""
    partitions = shared.settings.topics.partitions
    changelog = shared.settings.topics.name(TOPOLOGY.table("status"))
    fleet = Fleet(shared.app, changelog, partitions, settings.peer_timeout_s)
    share = LocalShare(shared, ready, load)
    registry = shared.metrics.registry
    commands, audit = Commands(shared), AuditLog(shared)
    switches = ControlRoutes(
        control, Switchboard(shared.topics.control, shared.out_of_band), audit, settings.tokens,
        shared.strategies.names(),
    )  # fmt: skip
    silenced = SilenceRoutes(silences, shared, audit, settings.tokens)
    routes = Routes(
        share, fleet, ready, registry, commands, audit, settings.tokens, switches, silenced
    )
    return ApiServer(settings, routes)
