"""ClusterGateway over the Kubernetes/kcp REST API, with aiohttp.

The REST subset it speaks:

- probe: ``GET {server}/readyz`` on the cluster's API server. ``200`` with body ``ok`` is
  healthy; any other answer is unhealthy, with the failed checks (``[-]...`` lines) or the
  Kubernetes Status message as detail. No answer in time is ``ClusterUnreachable``.
- record health: on the control plane, the cluster's SyncTarget
  ``{url}/clusters/{logical_cluster}/apis/workload.kcp.io/v1alpha1/synctargets/{cluster}``
  is read (``GET``), its ``Ready`` condition is set in ``status.conditions`` (other
  conditions are kept), and the list is written back with ``PATCH .../status``,
  ``Content-Type: application/merge-patch+json``, carrying ``metadata.resourceVersion`` so
  a concurrent writer makes it ``409 Conflict``, which is retried from a fresh read.
- refresh: the cluster's session (connection pool, default headers) is replaced and the
  bearer token re-read, so stale sockets and rotated tokens stop mattering.

Each cluster and the control plane get a session of their own, so a refresh of one never
disturbs the others. Every request is bounded by a total timeout.
"""

from __future__ import annotations

import json
import logging
import ssl
import time
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import aiohttp

from strategies.adapters.conditions import ready_condition, set_condition
from strategies.adapters.fleet import Endpoint, Fleet, FleetConfigError
from strategies.gateway import (
    BadResponse,
    ClusterHealth,
    ClusterUnreachable,
    GatewayError,
    ProbeResult,
)

log = logging.getLogger(__name__)

SYNCTARGETS = "apis/workload.kcp.io/v1alpha1/synctargets"
MERGE_PATCH = "application/merge-patch+json"
_MAX_BODY = 256 * 1024
_MAX_DETAIL = 300
_CONFLICT_ATTEMPTS = 3


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    """The body, but never more than _MAX_BODY bytes of it: a broken server can't exhaust us."""
    body = bytearray()
    while len(body) < _MAX_BODY:
        chunk = await response.content.read(_MAX_BODY - len(body))
        if not chunk:
            break
        body += chunk
    return bytes(body)


def _detail(body: str) -> str:
    """What a failed answer says: a Status message, the failed readyz checks, or its first line."""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    message = doc.get("message") if isinstance(doc, dict) else None
    if isinstance(message, str):
        text = message
    else:
        lines = [line.strip() for line in body.splitlines() if line.strip()]
        failed = [line for line in lines if line.startswith("[-]")]
        text = "; ".join(failed or lines[:1])
    return text[:_MAX_DETAIL]


def _unreachable(
    what: str, url: str, exc: BaseException, timeout: aiohttp.ClientTimeout
) -> ClusterUnreachable:
    if isinstance(exc, TimeoutError):
        return ClusterUnreachable(what, f"no answer from {url} within {timeout.total} s")
    return ClusterUnreachable(what, f"{url}: {type(exc).__name__}: {exc}")


class HttpClusterGateway:
    """The real adapter. Use as ``async with HttpClusterGateway(fleet) as gateway:``."""

    def __init__(
        self, fleet: Fleet, *, probe_timeout_s: float = 2.0, request_timeout_s: float = 5.0
    ) -> None:
        self._fleet = fleet
        self._probe_timeout = aiohttp.ClientTimeout(total=probe_timeout_s)
        self._request_timeout = aiohttp.ClientTimeout(total=request_timeout_s)
        self._sessions: dict[str, aiohttp.ClientSession] = {}
        self._control_plane: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        sessions = list(self._sessions.values())
        if self._control_plane is not None:
            sessions.append(self._control_plane)
        self._sessions.clear()
        self._control_plane = None
        for session in sessions:
            await session.close()

    async def probe(self, cluster: str) -> ProbeResult:
        endpoint = self._fleet.cluster(cluster)
        session = self._cluster_session(cluster, endpoint)
        url = f"{endpoint.server}/readyz"
        started = time.monotonic()
        try:
            async with session.get(url, timeout=self._probe_timeout) as response:
                body = (await _read_capped(response)).decode("utf-8", "replace").strip()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _unreachable(f"cluster {cluster}", url, exc, self._probe_timeout) from exc
        latency = time.monotonic() - started
        healthy = response.status == 200 and body == "ok"
        result = ProbeResult(
            cluster=cluster,
            healthy=healthy,
            status=response.status,
            reason=response.reason or "",
            detail="" if healthy else _detail(body),
            latency_s=latency,
        )
        log.debug("probed %s: %s", cluster, result.summary())
        return result

    async def refresh_connection(self, cluster: str) -> None:
        fresh = self._open(self._fleet.cluster(cluster), f"cluster {cluster}")
        stale = self._sessions.get(cluster)
        self._sessions[cluster] = fresh
        if stale is not None:
            await stale.close()
        log.debug("refreshed the connection to %s", cluster)

    async def record_health(self, cluster: str, health: ClusterHealth) -> None:
        endpoint = self._fleet.cluster(cluster)
        url = (
            f"{self._fleet.control_plane.url}/clusters/{endpoint.logical_cluster}"
            f"/{SYNCTARGETS}/{cluster}"
        )
        condition = ready_condition(health, datetime.now(UTC))
        for _ in range(_CONFLICT_ATTEMPTS):
            status, target = await self._control_plane_call("GET", url)
            if status != 200:
                raise self._bad_response(url, status, target)
            resource_version, conditions = self._sync_target_state(url, target)
            patch = {
                "metadata": {"resourceVersion": resource_version},
                "status": {"conditions": set_condition(conditions, condition)},
            }
            status, answer = await self._control_plane_call("PATCH", f"{url}/status", patch)
            if status == 409:
                log.debug("SyncTarget %s changed under us; re-reading", cluster)
                continue
            if status != 200:
                raise self._bad_response(f"{url}/status", status, answer)
            log.debug("recorded Ready=%s (%s) for %s", health.ready, health.reason, cluster)
            return
        raise BadResponse(
            f"{url}/status", 409, f"still conflicting after {_CONFLICT_ATTEMPTS} tries"
        )

    def _cluster_session(self, cluster: str, endpoint: Endpoint) -> aiohttp.ClientSession:
        session = self._sessions.get(cluster)
        if session is None:
            session = self._sessions[cluster] = self._open(endpoint, f"cluster {cluster}")
        return session

    def _open(self, endpoint: Endpoint, what: str) -> aiohttp.ClientSession:
        """A session with the endpoint's token and CA; the token is read now, not at load."""
        try:
            token = endpoint.bearer_token()
            tls: ssl.SSLContext | bool = (
                ssl.create_default_context(cafile=str(endpoint.ca_file))
                if endpoint.ca_file is not None
                else True
            )
        except (FleetConfigError, OSError) as exc:
            raise GatewayError(f"cannot connect to {what}: {exc}") from None
        headers = {"Accept": "application/json", "User-Agent": "tmc-recovery"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        return aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(ssl=tls))

    async def _control_plane_call(
        self, method: str, url: str, patch: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        """One request to the control plane: its status and JSON body."""
        if self._control_plane is None:
            self._control_plane = self._open(self._fleet.control_plane, "the control plane")
        data = None if patch is None else json.dumps(patch).encode()
        headers = {"Content-Type": MERGE_PATCH} if patch is not None else None
        try:
            async with self._control_plane.request(
                method, url, data=data, headers=headers, timeout=self._request_timeout
            ) as response:
                body = await _read_capped(response)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _unreachable("the control plane", url, exc, self._request_timeout) from exc
        try:
            return response.status, json.loads(body)
        except ValueError:
            raise BadResponse(url, response.status, "the body is not JSON") from None

    @staticmethod
    def _bad_response(url: str, status: int, body: Any) -> BadResponse:
        message = body.get("message") if isinstance(body, dict) else None
        return BadResponse(url, status, str(message or "unexpected answer")[:_MAX_DETAIL])

    @staticmethod
    def _sync_target_state(url: str, target: Any) -> tuple[str, list[dict[str, Any]]]:
        """The resourceVersion and the conditions of a SyncTarget as read."""
        metadata = target.get("metadata") if isinstance(target, dict) else None
        version = metadata.get("resourceVersion") if isinstance(metadata, dict) else None
        if not isinstance(version, str) or target.get("kind") != "SyncTarget":
            raise BadResponse(url, 200, "not a SyncTarget with a resourceVersion")
        status = target.get("status")
        conditions = status.get("conditions") if isinstance(status, dict) else None
        if not isinstance(conditions, list):
            return version, []
        return version, [c for c in conditions if isinstance(c, dict)]
