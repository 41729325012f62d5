"""Who may change what: bearer tokens, one per user, each with a role.

Roles rise read < operate < approve; a mutation names the least role it needs. With no
token configured every mutation is refused, so a worker that nobody set up cannot be driven
over HTTP. A presented token is compared with every configured one in constant time, so how
long a refusal takes says nothing about how close a guess came.
"""

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from aiohttp import web

from streams.api.exceptions import BadRequest, Forbidden, Unauthorized
from streams.config import ApiToken


class Role(IntEnum):
    READ = 1
    OPERATE = 2
    APPROVE = 3


def authorize(header: str | None, tokens: Mapping[str, ApiToken], needed: Role) -> str:
    """The user whose token ``header`` (``Authorization``) carries, if their role is at
    least ``needed``: Forbidden when no token is configured or the role is too low,
    Unauthorized when the token is missing or matches no user."""
    if not tokens:
        raise Forbidden("mutations are refused: no api.tokens are configured")
    scheme, _, presented = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise Unauthorized("a bearer token is required")
    given = presented.strip().encode()
    user = None
    for name, token in tokens.items():
        if hmac.compare_digest(given, token.token.get_secret_value().encode()):
            user = name  # no early return: every token is compared
    if user is None:
        raise Unauthorized("the token matches no user")
    if Role[tokens[user].role.upper()] < needed:
        raise Forbidden(
            f"{user} ({tokens[user].role}) may not do this: it needs {needed.name.lower()}"
        )
    return user


@dataclass(frozen=True)
class Caller:
    """Who asks for a change (authorized), their role, and the request's JSON body."""

    user: str
    role: str
    body: dict[str, Any]

    def reason(self, required: bool = True) -> str:
        """The body's ``reason``, stripped; BadRequest when required and missing."""
        reason = self.body.get("reason", "")
        if not isinstance(reason, str) or (required and not reason.strip()):
            raise BadRequest('a reason is required: {"reason": "why"}')
        return reason.strip()


async def caller(request: web.Request, tokens: Mapping[str, ApiToken], needed: Role) -> Caller:
    """The authorized caller of a change, whose body must be a JSON object (or empty)."""
    user = authorize(request.headers.get("Authorization"), tokens, needed)
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError as exc:
        raise BadRequest('the body must be JSON: {"reason": "why"}') from exc
    if not isinstance(body, dict):
        raise BadRequest('the body must be a JSON object: {"reason": "why"}')
    return Caller(user, tokens[user].role, body)
