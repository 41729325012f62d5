"""The CLI's read of a worker's HTTP API (any worker answers for the whole fleet).

Synchronous and stdlib-only: a command makes one or a few requests and exits, and an
unreachable API or a refusal is one line naming the URL and the API's own reason.
"""

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from schemas.errors import TmcRecoveryError

DEFAULT_API = "http://127.0.0.1:6066"
API_ENV = "TMC_API_URL"
TOKEN_ENV = "TMC_API_TOKEN"


class ApiRequestFailed(TmcRecoveryError):
    """The API did not answer, or refused the request (its reason is in the message)."""


def api_url(given: str | None) -> str:
    """``--api``, else ``$TMC_API_URL``, else the worker's default address."""
    return (given or os.environ.get(API_ENV) or DEFAULT_API).rstrip("/")


def get(api: str, path: str, params: dict[str, str] | None = None, timeout_s: float = 30) -> Any:
    """The JSON answer of ``GET api+path?params`` (parameters left empty are not sent)."""
    query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v})
    return _call(urllib.request.Request(f"{api}{path}" + (f"?{query}" if query else "")), timeout_s)


def post(
    api: str,
    path: str,
    body: dict[str, Any],
    token: str | None,
    timeout_s: float = 30,
    method: str = "POST",
) -> Any:
    """The JSON answer of ``POST api+path`` (or ``method``) with a JSON ``body``, as the
    bearer of ``token``."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode()
    return _call(urllib.request.Request(f"{api}{path}", data, headers, method=method), timeout_s)


def _call(request: urllib.request.Request, timeout_s: float) -> Any:
    url = request.full_url
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as reply:
            return json.load(reply)
    except urllib.error.HTTPError as exc:
        try:
            reason = json.load(exc).get("error", exc.reason)
        except ValueError:
            reason = exc.reason
        raise ApiRequestFailed(f"{url}: {exc.code} {reason}") from exc
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        raise ApiRequestFailed(f"{url}: no answer ({exc})") from exc
