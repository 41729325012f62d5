"""A client for the simulator's admin API, so tests and demos inject faults and read what the
control plane was told over HTTP, exactly as an operator with curl would."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from schemas.errors import TmcRecoveryError
from strategies.gateway import KubeObject, Location, ObjectRef, Workspace
from strategies.simulator.faults import FaultMode
from strategies.simulator.state import Syncer


class SimulatorAdminError(TmcRecoveryError):
    """The admin API refused a request or could not be reached."""


class AdminClient:
    def __init__(
        self, base_url: str, token: str, *, timeout_s: float = 5.0, ca_file: Path | None = None
    ) -> None:
        self._base = base_url.rstrip("/")
        self._ca_file = ca_file
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def set_fault(
        self,
        cluster: str,
        mode: FaultMode,
        *,
        for_requests: int | None = None,
        delay_s: float | None = None,
        **throttling: Any,
    ) -> dict[str, Any]:
        """Make ``cluster``'s API server misbehave; returns the cluster's state. ``throttling``:
        ``qps`` and ``retry_after`` of the throttling modes (strategies.simulator.faults)."""
        body = _fault_body(mode, for_requests, delay_s, throttling)
        return await self._call("POST", f"/_sim/clusters/{cluster}/faults", body)

    async def set_control_plane_fault(
        self,
        mode: FaultMode,
        *,
        for_requests: int | None = None,
        delay_s: float | None = None,
        **throttling: Any,
    ) -> dict[str, Any]:
        body = _fault_body(mode, for_requests, delay_s, throttling)
        return await self._call("POST", "/_sim/controlplane/faults", body)

    async def cluster(self, name: str) -> dict[str, Any]:
        """Fault, request log, connections, health updates, mutations and SyncTarget."""
        return await self._call("GET", f"/_sim/clusters/{name}")

    async def mutations(self, cluster: str) -> list[dict[str, Any]]:
        """Every mutating request aimed at ``cluster`` (on its API server or its SyncTarget),
        oldest first: ``{"time", "method", "path", "status"}``, ``time`` from ``time.time()``
        when the request arrived, ``status`` None while it is still being served."""
        answer = await self._call("GET", f"/_sim/clusters/{cluster}/mutations")
        mutations: list[dict[str, Any]] = answer["mutations"]
        return mutations

    async def control_plane(self) -> dict[str, Any]:
        return await self._call("GET", "/_sim/controlplane")

    async def rotate_token(self, cluster: str) -> None:
        """Issue a new token (written to the fleet's token file); the old one stops working."""
        await self._call("POST", f"/_sim/clusters/{cluster}/token", {"action": "rotate"})

    async def expire_token(self, cluster: str) -> None:
        """The token stops working and no new one is issued."""
        await self._call("POST", f"/_sim/clusters/{cluster}/token", {"action": "expire"})

    async def set_rbac(self, cluster: str, *, allowed: bool) -> None:
        await self._call("POST", f"/_sim/clusters/{cluster}/rbac", {"allowed": allowed})

    async def put_object(self, where: Location, obj: KubeObject) -> KubeObject:
        """Create or replace ``obj`` on a cluster or a workspace, unchecked (seeding)."""
        return await self._call("PUT", f"{_prefix(where)}/objects", obj)

    async def get_object(self, where: Location, ref: ObjectRef) -> KubeObject:
        query = urlencode({"path": ref.path()})
        return await self._call("GET", f"{_prefix(where)}/objects?{query}")

    async def add_conflicting_writer(
        self, cluster: str, ref: ObjectRef, patch: dict[str, Any], times: int = 1
    ) -> None:
        """Another writer changes the object (``patch``) before each of our next writes."""
        body = {"path": ref.path(), "patch": patch, "times": times}
        await self._call("POST", f"/_sim/clusters/{cluster}/writer", body)

    async def fill(self, cluster: str) -> KubeObject:
        """Start a pod taking all the cluster's free capacity; returns the pod."""
        return await self._call("POST", f"/_sim/clusters/{cluster}/fill")

    async def set_syncer(self, cluster: str, state: Syncer) -> None:
        await self._call("POST", f"/_sim/clusters/{cluster}/syncer", {"state": state.value})

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if self._session is None:
            tls = (
                True if self._ca_file is None else ssl.create_default_context(cafile=self._ca_file)
            )
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(ssl=tls),
            )
        url = f"{self._base}{path}"
        try:
            async with self._session.request(method, url, json=body) as response:
                if response.status != 200:
                    text = (await response.text())[:300]
                    raise SimulatorAdminError(f"{method} {path}: {response.status} {text}")
                answer: dict[str, Any] = await response.json()
                return answer
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise SimulatorAdminError(f"{method} {url}: {type(exc).__name__}: {exc}") from None


def _prefix(where: Location) -> str:
    if isinstance(where, Workspace):
        return f"/_sim/workspaces/{where.logical_cluster}"
    return f"/_sim/clusters/{where}"


def _fault_body(
    mode: FaultMode, for_requests: int | None, delay_s: float | None, extra: dict[str, Any]
) -> dict[str, Any]:
    body: dict[str, Any] = {"mode": mode.value, "for_requests": for_requests, **extra}
    if delay_s is not None:
        body["delay_s"] = delay_s
    return body
