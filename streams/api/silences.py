"""Silences over HTTP: ``GET /silences`` (active, pending, and those ended within
``silences.retention_s``), ``POST /silences`` and ``DELETE /silences/{id}`` (ends it now), each
change by an operator's token and audited before it is made, like the switches.

Any worker answers: each reads every silence (streams/silences/view.py). A change's audit
entry belongs to no cluster: it goes under the empty cluster, its id the silence's.

``POST`` takes ``{"matchers": {...}, "reason": "why", "duration_s": 3600}`` (or
``"expires_at"``, an ISO time), and optionally ``"starts_at"``. Matchers: ``cluster_name``,
``logical_cluster`` (that one and those under it), ``strategy``, ``error_type`` (a symbol or a
custom type's name), ``component``; at least one, since silencing everything is the pause.
"""

import uuid
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from schemas.records import Silence, SilenceMatchers
from schemas.records.convert import whole_millis
from schemas.records.error_types import BadCustomType, parse_error_type
from streams.api.audit import AuditEntry, AuditLog
from streams.api.auth import Caller, Role, caller
from streams.api.control import FLEET
from streams.api.exceptions import BadRequest, NotFound
from streams.config import ApiToken
from streams.context import Shared
from streams.silences.state import view
from streams.silences.view import SilenceView
from streams.silences.writer import SilenceWriter

MATCHERS = ("cluster_name", "logical_cluster", "strategy", "error_type", "component")


class SilenceRoutes:
    def __init__(
        self, view: SilenceView, shared: Shared, audit: AuditLog, tokens: Mapping[str, ApiToken]
    ) -> None:
        self.view, self.audit, self._tokens = view, audit, tokens
        self.writer = SilenceWriter(shared.topics.silences, shared.out_of_band)
        self._strategies: Collection[str] = shared.strategies.names()
        self._retention = timedelta(seconds=shared.settings.silences.retention_s)

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/silences", self.listing)
        app.router.add_post("/silences", self.create)
        app.router.add_delete("/silences/{id}", self.expire)

    async def listing(self, request: web.Request) -> web.Response:
        now = datetime.now(UTC)
        return web.json_response({"silences": self.view.state.listing(now, self._retention)})

    async def create(self, request: web.Request) -> web.Response:
        """Audited first (a change that cannot be audited is not made), then set."""
        who = await caller(request, self._tokens, Role.OPERATE)
        now = whole_millis(datetime.now(UTC))
        silence = Silence(
            id=str(uuid.uuid4()),
            matchers=self._matchers(who.body.get("matchers")),
            reason=who.reason(),
            created_by=who.user,
            created_at=now,
            starts_at=_time(who.body, "starts_at") or now,
            expires_at=self._expiry(who.body, now),
        )
        if silence.expires_at <= max(now, silence.starts_at):
            raise BadRequest("the silence would end before it starts: check expires_at")
        await self._audit(who, "silence-add", silence, silence.reason)
        await self.writer.put(silence)
        return web.json_response(view(silence, now), status=201)

    async def expire(self, request: web.Request) -> web.Response:
        """End a silence now: the next error it covered starts a recovery as usual."""
        who = await caller(request, self._tokens, Role.OPERATE)
        silence_id = request.match_info["id"]
        silence = self.view.state.silences.get(silence_id)
        if silence is None:
            raise NotFound(f"no silence {silence_id!r}")
        now = whole_millis(datetime.now(UTC))
        await self._audit(who, "silence-expire", silence, who.reason(required=False))
        return web.json_response(view(await self.writer.expire(silence, now), now))

    async def _audit(self, who: Caller, action: str, silence: Silence, reason: str) -> None:
        details = {"expires_at": silence.expires_at.isoformat()}
        details.update(
            {k: str(v) for k, v in view(silence, silence.created_at)["matchers"].items()}
        )
        await self.audit.record(
            AuditEntry(who.user, who.role, action, FLEET, silence.id, reason, details)
        )

    def _matchers(self, raw: Any) -> SilenceMatchers:
        if not isinstance(raw, dict) or not raw:
            raise BadRequest(
                f'say what it silences: {{"matchers": {{one of {", ".join(MATCHERS)}}}}}'
            )
        unknown = sorted(set(raw) - set(MATCHERS))
        if unknown:
            raise BadRequest(f"unknown matcher {unknown[0]!r} (known: {', '.join(MATCHERS)})")
        if not all(isinstance(v, str) and v for v in raw.values()):
            raise BadRequest("every matcher is a non-empty string")
        strategy = raw.get("strategy")
        if strategy is not None and strategy not in self._strategies:
            known = ", ".join(sorted(self._strategies))
            raise BadRequest(f"no strategy {strategy!r} (known: {known})")
        error_type, custom_type = None, None
        if "error_type" in raw:
            try:
                error_type, custom_type = parse_error_type(raw["error_type"])
            except BadCustomType as exc:
                raise BadRequest(f"error_type: {exc}") from exc
            error_type = None if custom_type else error_type
        return SilenceMatchers(
            cluster_name=raw.get("cluster_name"),
            logical_cluster=raw.get("logical_cluster"),
            strategy=strategy,
            error_type=error_type,
            custom_type=custom_type,
            component=raw.get("component"),
        )

    def _expiry(self, body: dict[str, Any], now: datetime) -> datetime:
        expires_at = _time(body, "expires_at")
        duration = body.get("duration_s")
        if (expires_at is None) == (duration is None):
            raise BadRequest('say how long: "duration_s" (seconds) or "expires_at" (ISO time)')
        if expires_at is not None:
            return expires_at
        if not isinstance(duration, int | float) or isinstance(duration, bool) or duration <= 0:
            raise BadRequest("duration_s is a positive number of seconds")
        start = _time(body, "starts_at") or now
        return whole_millis(start + timedelta(seconds=duration))


def _time(body: dict[str, Any], name: str) -> datetime | None:
    """An ISO time from the body (UTC when it names no zone), or None when absent."""
    raw = body.get(name)
    if raw is None:
        return None
    try:
        at = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        at = None
    if at is None:
        raise BadRequest(f"{name} is an ISO time, e.g. 2026-12-01T18:00:00Z")
    return whole_millis(at if at.tzinfo else at.replace(tzinfo=UTC))
