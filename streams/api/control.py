"""The switches over HTTP: ``GET /pause``, ``POST /pause`` (a reason is required), ``POST
/resume`` and ``POST /strategies/{name}/shadow`` (``{"on": true|false}``), each change by an
operator's token and audited before it is made, like a cancel.

Any worker answers: each reads every switch (streams/control/view.py). A change's audit entry
belongs to no cluster: it goes under the empty cluster, its id the switch's key (``pause``,
``shadow~<strategy>``), so ``GET /pause`` lists the pause's trail.
"""

from collections.abc import Collection, Mapping

from aiohttp import web

from streams.api.audit import AuditEntry, AuditLog
from streams.api.auth import Caller, Role, caller
from streams.api.exceptions import BadRequest, NotFound
from streams.config import ApiToken
from streams.control.state import PAUSE, Switch, shadow_key
from streams.control.switch import Switchboard
from streams.control.view import ControlView

FLEET = ""  # the audit trail's "cluster" of fleet-wide changes


class ControlRoutes:
    def __init__(
        self,
        view: ControlView,
        board: Switchboard,
        audit: AuditLog,
        tokens: Mapping[str, ApiToken],
        strategies: Collection[str],
    ) -> None:
        self.view, self.board, self.audit = view, board, audit
        self._tokens, self._strategies = tokens, strategies

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/pause", self.paused)
        app.router.add_post("/pause", self.pause)
        app.router.add_post("/resume", self.resume)
        app.router.add_post("/strategies/{name}/shadow", self.shadow)

    async def paused(self, request: web.Request) -> web.Response:
        """Every switch as this worker applies it, and the pause's audit trail."""
        trail = await self.audit.entries(FLEET, PAUSE)
        return web.json_response({**self.view.state.view(), "audit": trail})

    async def pause(self, request: web.Request) -> web.Response:
        """The kill switch: no attempt starts anywhere until the resume."""
        who = await self._caller(request)
        return await self._flip(who, "pause", PAUSE, True, who.reason())

    async def resume(self, request: web.Request) -> web.Response:
        who = await self._caller(request)
        return await self._flip(who, "resume", PAUSE, False, who.reason(required=False))

    async def shadow(self, request: web.Request) -> web.Response:
        """Shadow mode for one strategy: it plans and reports (dry-run) but does not act."""
        name = request.match_info["name"]
        if name not in self._strategies:
            raise NotFound(f"no strategy {name!r} (known: {', '.join(sorted(self._strategies))})")
        who = await self._caller(request)
        on = who.body.get("on")
        if not isinstance(on, bool):
            raise BadRequest('say whether shadow mode is on: {"on": true, "reason": "why"}')
        action = f"shadow-{'on' if on else 'off'}"
        return await self._flip(who, action, shadow_key(name), on, who.reason(required=False))

    async def _caller(self, request: web.Request) -> Caller:
        return await caller(request, self._tokens, Role.OPERATE)

    async def _flip(
        self, who: Caller, action: str, key: str, on: bool, reason: str
    ) -> web.Response:
        """Audited first (a change that cannot be audited is not made), then flipped."""
        entry = AuditEntry(who.user, who.role, action, FLEET, key, reason)
        await self.audit.record(entry)
        await self.board.flip(key, Switch(on, who.user, reason, entry.at))
        answer = {"command": action, "switch": key, "on": on, "by": who.user, "reason": reason}
        return web.json_response(answer, status=202)
