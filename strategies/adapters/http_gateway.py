"""ClusterGateway over the Kubernetes/kcp REST API, with aiohttp.

The REST subset it speaks (cluster paths under the cluster's ``server``, workspace paths
under ``{control plane}/clusters/{logical_cluster}``):

- probe: ``GET /readyz``. ``200`` with body ``ok`` is healthy; any other answer is
  unhealthy, with the failed checks (``[-]...`` lines) or the Status message as detail.
- objects: ``GET``/``PUT`` on the object's path (``/api/v1/...``, ``/apis/group/v/...``);
  a PUT carries ``metadata.resourceVersion``, so a concurrent writer makes it 409, which
  surfaces as ``Conflict``. Patches are ``application/merge-patch+json``.
- access: ``POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews``.
- capacity: ``GET /api/v1/nodes`` (``status.allocatable``) and the pods that are not
  finished (``GET /api/v1/pods?fieldSelector=...``, their containers' requests).
- the control plane: SyncTargets (``tmc.kcp.io/v1alpha1``: readiness conditions,
  labels, the syncer's ``Synced`` condition and the re-sync annotation), Placements and
  Migrations (``tmc.kcp.io/v1alpha1``). A migration is resumed or rolled back by setting
  ``spec.action`` (and ``spec.resumeFrom``, the ``status.checkpoint.step`` to resume
  from) with a ``spec.requestId``; its controller answers in ``status``, and has acted
  once ``status.observedGeneration`` reaches the written ``metadata.generation``.
- events: ``POST /api/v1/namespaces/{ns}/events`` where the SyncTarget lives (409, an Event
  of that name already there, is success: the name is deterministic, so a repeat is one).
- refresh: the cluster's session (connection pool, default headers) is replaced and the
  token re-read (file, env, or the exec plugin run again), so stale sockets and rotated
  tokens stop mattering.

Errors are typed by status: 401 ``Unauthorized``, 403 ``Forbidden``, 404 ``NotFound``,
409 ``Conflict``, anything else ``BadResponse``; no answer is ``ClusterUnreachable``.
Each cluster and the control plane get a session of their own, so a refresh of one never
disturbs the others, and a rate limit of their own (``strategies.adapters.throttle``): a
request waits for its turn, and a 429 is waited out as ``Retry-After`` says (or backed off),
probes included, until the deadline of the call (the attempt's; outside an attempt, the
request timeout), past which it is ``Throttled``. Each exchange is bounded by the request
(or probe) timeout.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import ssl
import time
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import aiohttp
from pydantic import SecretStr

from schemas.records import RecoveryEvent
from strategies import resources
from strategies.adapters.conditions import ready_condition, set_condition
from strategies.adapters.events import event_object
from strategies.adapters.exec_credential import exec_token
from strategies.adapters.fleet import Endpoint, Fleet, FleetConfigError
from strategies.adapters.throttle import (
    THROTTLED,
    ThrottleReason,
    TokenBucket,
    backoff_s,
    retry_after_s,
)
from strategies.gateway import (
    AccessReview,
    BadResponse,
    Capacity,
    ClusterHealth,
    ClusterInfo,
    ClusterUnreachable,
    Conflict,
    Credentials,
    Forbidden,
    GatewayError,
    KubeObject,
    Location,
    Migration,
    NotFound,
    ObjectRef,
    ProbeResult,
    SyncStatus,
    Throttled,
    Unauthorized,
    Workspace,
    call_deadline,
)

log = logging.getLogger(__name__)

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
LIVE_PODS = "/api/v1/pods?fieldSelector=status.phase!%3DSucceeded,status.phase!%3DFailed"
_MAX_BODY = 1024 * 1024
_MAX_DETAIL = 300
_CONFLICT_ATTEMPTS = 3
#: aiohttp's own timers off: each request is bounded by an asyncio timeout instead (_send).
NO_CLIENT_TIMEOUT = aiohttp.ClientTimeout()
_TYPED: dict[int, type[BadResponse]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
}
#: The control plane's session key: cluster names are DNS labels, never empty.
_CONTROL_PLANE = ""


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


def _unreachable(what: str, url: str, exc: BaseException, budget_s: float) -> ClusterUnreachable:
    if isinstance(exc, TimeoutError):
        return ClusterUnreachable(what, f"no answer from {url} within {budget_s} s")
    return ClusterUnreachable(what, f"{url}: {type(exc).__name__}: {exc}")


def _fingerprint(token: SecretStr | None) -> str:
    if token is None:
        return "none"
    return hashlib.sha256(token.get_secret_value().encode()).hexdigest()[:12]


def _condition(obj: KubeObject, kind: str) -> dict[str, Any]:
    status = obj.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    for condition in conditions if isinstance(conditions, list) else []:
        if isinstance(condition, dict) and condition.get("type") == kind:
            return condition
    return {}


def _migration(obj: KubeObject) -> Migration:
    spec, status = obj.get("spec", {}), obj.get("status", {})
    checkpoint = status.get("checkpoint")
    return Migration(
        name=obj["metadata"]["name"],
        source=str(spec.get("source", "")),
        target=str(spec.get("target", "")),
        phase=str(status.get("phase", "Pending")),
        checkpoint=checkpoint.get("step") if isinstance(checkpoint, dict) else None,
        message=str(status.get("message", "")),
        generation=int(obj["metadata"].get("generation", 1)),
        observed_generation=status.get("observedGeneration"),
    )


class HttpClusterGateway:
    """The real adapter. Use as ``async with HttpClusterGateway(fleet) as gateway:``."""

    def __init__(
        self, fleet: Fleet, *, probe_timeout_s: float = 2.0, request_timeout_s: float = 5.0
    ) -> None:
        self._fleet = fleet
        self._probe_timeout_s = probe_timeout_s
        self._request_timeout_s = request_timeout_s
        self._sessions: dict[str, aiohttp.ClientSession] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._rng = random.Random()
        self._fingerprints: dict[str, str] = {}

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
        self._sessions.clear()
        for session in sessions:
            await session.close()

    async def probe(self, cluster: str) -> ProbeResult:
        url = f"{self._fleet.cluster(cluster).server}/readyz"
        status, reason, raw, latency = await self._send(
            cluster, f"cluster {cluster}", "GET", url, self._probe_timeout_s
        )
        body = raw.decode("utf-8", "replace").strip()
        healthy = status == 200 and body == "ok"
        result = ProbeResult(
            cluster=cluster,
            healthy=healthy,
            status=status,
            reason=reason,
            detail="" if healthy else _detail(body),
            latency_s=latency,
        )
        log.debug("probed %s: %s", cluster, result.summary())
        return result

    async def refresh_connection(self, cluster: str) -> None:
        await self.refresh_credentials(cluster)

    async def refresh_credentials(self, cluster: str) -> Credentials:
        endpoint = self._fleet.cluster(cluster)
        before = self._fingerprints.get(cluster)
        stale = self._sessions.pop(cluster, None)
        await self._session(cluster)
        if stale is not None:
            await stale.close()
        after = self._fingerprints[cluster]
        log.debug("refreshed the connection to %s", cluster)
        return Credentials(endpoint.token_source(), after, before not in (None, after))

    async def record_health(self, cluster: str, health: ClusterHealth) -> None:
        where = self._workspace_of(cluster)
        ref = resources.sync_target(cluster)
        condition = ready_condition(health, datetime.now(UTC))
        for _ in range(_CONFLICT_ATTEMPTS):
            target = await self.get_object(where, ref)
            version, conditions = self._sync_target_state(ref, target)
            patch = {
                "metadata": {"resourceVersion": version},
                "status": {"conditions": set_condition(conditions, condition)},
            }
            try:
                await self._request(where, "PATCH", f"{ref.path()}/status", patch, MERGE_PATCH)
            except Conflict:
                log.debug("SyncTarget %s changed under us; re-reading", cluster)
                continue
            log.debug("recorded Ready=%s (%s) for %s", health.ready, health.reason, cluster)
            return
        raise BadResponse(
            f"{ref.path()}/status", 409, f"still conflicting after {_CONFLICT_ATTEMPTS} tries"
        )

    async def recorded_health(self, cluster: str) -> ClusterHealth | None:
        target = await self.get_object(self._workspace_of(cluster), resources.sync_target(cluster))
        ready = _condition(target, "Ready")
        if not ready:
            return None
        return ClusterHealth(
            ready=ready.get("status") == "True",
            reason=str(ready.get("reason", "")),
            message=str(ready.get("message", "")),
        )

    async def record_event(self, cluster: str, event: RecoveryEvent) -> None:
        path = f"/api/v1/namespaces/{event.metadata.namespace}/events"
        try:
            await self._request(self._workspace_of(cluster), "POST", path, event_object(event))
        except Conflict:
            log.debug("event %s is on the control plane already", event.metadata.name)

    async def review_access(
        self, cluster: str, verb: str, resource: str, group: str = "", namespace: str | None = None
    ) -> AccessReview:
        attributes = {"verb": verb, "resource": resource, "group": group}
        if namespace is not None:
            attributes["namespace"] = namespace
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }
        answer = await self._request(cluster, "POST", ACCESS_REVIEWS, review)
        status = answer.get("status", {}) if isinstance(answer, dict) else {}
        reason = status.get("reason") or status.get("evaluationError") or ""
        return AccessReview(allowed=status.get("allowed") is True, reason=str(reason))

    async def get_object(self, where: Location, ref: ObjectRef) -> KubeObject:
        return await self._object(where, "GET", ref.path())

    async def update_object(self, where: Location, ref: ObjectRef, obj: KubeObject) -> KubeObject:
        return await self._object(where, "PUT", ref.path(), obj)

    async def read_capacity(self, cluster: str) -> Capacity:
        nodes = await self._items(cluster, "/api/v1/nodes")
        pods = await self._items(cluster, LIVE_PODS)
        try:
            return resources.capacity_of(nodes, pods)
        except (ValueError, KeyError, AttributeError) as exc:
            raise BadResponse(f"cluster {cluster}", 200, f"unreadable capacity: {exc}") from None

    async def list_clusters(self, logical_cluster: str) -> list[ClusterInfo]:
        collection = resources.sync_target("").path().rstrip("/")
        targets = await self._items(Workspace(logical_cluster), collection)
        return [
            ClusterInfo(
                name=target["metadata"]["name"],
                labels=dict(target["metadata"].get("labels") or {}),
                ready=_condition(target, "Ready").get("status") != "False",
            )
            for target in targets
        ]

    async def trigger_resync(self, cluster: str, request_id: str) -> None:
        patch = {"metadata": {"annotations": {resources.RESYNC_ANNOTATION: request_id}}}
        path = resources.sync_target(cluster).path()
        await self._request(self._workspace_of(cluster), "PATCH", path, patch, MERGE_PATCH)

    async def sync_status(self, cluster: str) -> SyncStatus:
        target = await self.get_object(self._workspace_of(cluster), resources.sync_target(cluster))
        synced = _condition(target, "Synced")
        observed = (target.get("status") or {}).get("observedResync")
        return SyncStatus(
            synced=synced.get("status") == "True",
            reason=str(synced.get("reason", "NoSyncerStatus")),
            message=str(synced.get("message", "the syncer has reported no Synced condition")),
            observed_resync=observed if isinstance(observed, str) else None,
        )

    async def get_migration(self, logical_cluster: str, name: str) -> Migration:
        obj = await self.get_object(Workspace(logical_cluster), resources.migration(name))
        return _migration(obj)

    async def resume_migration(
        self, logical_cluster: str, name: str, checkpoint: str, request_id: str
    ) -> Migration:
        spec = {"action": "Resume", "resumeFrom": checkpoint, "requestId": request_id}
        return await self._migration_action(logical_cluster, name, spec)

    async def rollback_migration(
        self, logical_cluster: str, name: str, request_id: str
    ) -> Migration:
        spec = {"action": "Rollback", "requestId": request_id}
        return await self._migration_action(logical_cluster, name, spec)

    async def _migration_action(
        self, logical_cluster: str, name: str, spec: dict[str, str]
    ) -> Migration:
        path = resources.migration(name).path()
        answer = await self._object(Workspace(logical_cluster), "PATCH", path, {"spec": spec})
        return _migration(answer)

    def _workspace_of(self, cluster: str) -> Workspace:
        return Workspace(self._fleet.cluster(cluster).logical_cluster)

    async def _items(self, where: Location, path: str) -> list[Any]:
        answer = await self._request(where, "GET", path)
        items = answer.get("items") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise BadResponse(path, 200, "not a list (no items)")
        return [item for item in items if isinstance(item, dict)]

    async def _object(
        self, where: Location, method: str, path: str, body: KubeObject | None = None
    ) -> KubeObject:
        kind = JSON if method != "PATCH" else MERGE_PATCH
        answer = await self._request(where, method, path, body, kind)
        if not isinstance(answer, dict) or not isinstance(answer.get("metadata"), dict):
            raise BadResponse(path, 200, "not a Kubernetes object")
        return answer

    def _where(self, where: Location) -> tuple[str, Endpoint, str, str]:
        """The session key, endpoint, base URL and name (for messages) of a location."""
        if isinstance(where, Workspace):
            plane = self._fleet.control_plane
            base = plane.url
            if plane.logical_cluster_paths:
                base = f"{base}/clusters/{where.logical_cluster}"
            return _CONTROL_PLANE, plane, base, "the control plane"
        endpoint = self._fleet.cluster(where)
        return where, endpoint, endpoint.server, f"cluster {where}"

    async def _request(
        self,
        where: Location,
        method: str,
        path: str,
        body: KubeObject | None = None,
        content_type: str = JSON,
    ) -> Any:
        """One call: the JSON of a 2xx, else a typed error."""
        key, _, base, what = self._where(where)
        url = f"{base}{path}"
        data = None if body is None else json.dumps(body).encode()
        headers = None if body is None else {"Content-Type": content_type}
        status, reason, raw, _ = await self._send(
            key, what, method, url, self._request_timeout_s, data, headers
        )
        text = raw.decode("utf-8", "replace")
        if not 200 <= status < 300:
            error = _TYPED.get(status, BadResponse)
            raise error(url, status, _detail(text) or reason)
        try:
            return json.loads(text)
        except ValueError:
            raise BadResponse(url, status, "the body is not JSON") from None

    async def _send(
        self,
        key: str,
        what: str,
        method: str,
        url: str,
        timeout_s: float,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str, bytes, float]:
        """One exchange in the API server's turn: its status, reason, body and latency. Each
        try is bounded by ``timeout_s``; 429s are waited out as told (or backed off) until the
        call's deadline, past which the call is ``Throttled``."""
        deadline = call_deadline(self._request_timeout_s)
        bucket = self._bucket(key)
        throttled = 0
        while True:
            await self._turn(bucket, what, deadline, first=throttled == 0)
            session = await self._session(key)
            started = time.monotonic()
            try:
                # asyncio's timeout, not aiohttp's: when the attempt's own timeout (the
                # deadline) expires as this one does, aiohttp 3.14's timer, entered twice per
                # request, takes back both cancellations and reports a TimeoutError of its
                # own, and the attempt would run on past its deadline. asyncio's timeouts nest.
                async with asyncio.timeout(timeout_s):
                    async with session.request(
                        method, url, data=data, headers=headers, timeout=NO_CLIENT_TIMEOUT
                    ) as response:
                        raw = await _read_capped(response)
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise _unreachable(what, url, exc, timeout_s) from exc
            latency = time.monotonic() - started
            if response.status != 429:
                return response.status, response.reason or "", raw, latency
            throttled += 1
            told = retry_after_s(response.headers.get("Retry-After"))
            wait = backoff_s(throttled, self._rng) if told is None else told
            if time.monotonic() + wait >= deadline:
                THROTTLED.count(ThrottleReason.DEADLINE)
                raise Throttled(
                    what, wait, f"429 to {method} {url}: {wait:.1f} s is past the deadline"
                )
            bucket.defer(time.monotonic() + wait)
            reason = ThrottleReason.BACKOFF if told is None else ThrottleReason.RETRY_AFTER
            THROTTLED.count(reason, wait)
            log.info(
                "%s answered 429 to %s %s; waiting %.1f s (%s)", what, method, url, wait, reason
            )

    async def _turn(self, bucket: TokenBucket, what: str, deadline: float, *, first: bool) -> None:
        """Wait for a token of the API server's bucket; Throttled if none comes in time. Only
        a first try's wait counts as our rate limit (a retry's is the server's Retry-After)."""
        wait = bucket.reserve()
        if wait <= 0:
            return
        if time.monotonic() + wait >= deadline:
            bucket.cancel()
            THROTTLED.count(ThrottleReason.DEADLINE)
            raise Throttled(what, wait, f"no turn within the deadline ({wait:.1f} s away)")
        if first:
            THROTTLED.count(ThrottleReason.RATE_LIMIT, wait)
        await asyncio.sleep(wait)

    def _bucket(self, key: str) -> TokenBucket:
        """The API server's bucket, shared by every call to it from this worker."""
        bucket = self._buckets.get(key)
        if bucket is None:
            plane = self._fleet.control_plane
            limit = (
                plane.rate_limit
                if key == _CONTROL_PLANE
                else self._fleet.cluster(key).rate_limit or self._fleet.rate_limit
            )
            bucket = self._buckets[key] = TokenBucket(limit.qps, limit.burst)
        return bucket

    async def _session(self, key: str) -> aiohttp.ClientSession:
        """The location's session, opened with the credentials as of now on first use."""
        session = self._sessions.get(key)
        if session is None:
            session = self._sessions[key] = await self._open(key)
        return session

    async def _open(self, key: str) -> aiohttp.ClientSession:
        """A session with the endpoint's token and CA; the token is read now, not at load."""
        endpoint = self._fleet.control_plane if key == _CONTROL_PLANE else self._fleet.cluster(key)
        what = "the control plane" if key == _CONTROL_PLANE else f"cluster {key}"
        try:
            token = (
                await exec_token(endpoint.exec)
                if endpoint.exec is not None
                else endpoint.bearer_token()
            )
            tls: ssl.SSLContext | bool = (
                ssl.create_default_context(cafile=str(endpoint.ca_file))
                if endpoint.ca_file is not None
                else True
            )
        except (FleetConfigError, OSError) as exc:
            raise GatewayError(f"cannot connect to {what}: {exc}") from None
        except GatewayError as exc:
            raise GatewayError(f"cannot connect to {what}: {exc}") from None
        self._fingerprints[key] = _fingerprint(token)
        headers = {"Accept": JSON, "User-Agent": "tmc-recovery"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        return aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(ssl=tls))

    @staticmethod
    def _sync_target_state(ref: ObjectRef, target: KubeObject) -> tuple[str, list[dict[str, Any]]]:
        """The resourceVersion and the conditions of a SyncTarget as read."""
        version = target["metadata"].get("resourceVersion")
        if not isinstance(version, str) or target.get("kind") != "SyncTarget":
            raise BadResponse(ref.path(), 200, "not a SyncTarget with a resourceVersion")
        status = target.get("status")
        conditions = status.get("conditions") if isinstance(status, dict) else None
        if not isinstance(conditions, list):
            return version, []
        return version, [c for c in conditions if isinstance(c, dict)]
