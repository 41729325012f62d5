"""FleetSimulator: the simulated fleet as an in-process aiohttp server on loopback.

``async with FleetSimulator(["east", "west"]) as sim:`` listens on a free port of 127.0.0.1,
writes a fleet file (``sim.fleet_path``, tokens in 0600 files beside it) for the real
adapter, and on exit releases held requests, closes the port and removes what it wrote.
"""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import yaml
from aiohttp import web

from schemas.errors import TmcRecoveryError
from strategies.adapters.fleet import Fleet, load_fleet
from strategies.simulator.admin import AdminClient
from strategies.simulator.app import build_app
from strategies.simulator.state import (
    ClusterState,
    EndpointState,
    SimulatedCluster,
    SimulatorState,
    new_token,
)

_SHUTDOWN_TIMEOUT_S = 5.0
T = TypeVar("T")


class SimulatorError(TmcRecoveryError):
    """The simulator could not start (e.g. its port is taken)."""


class FleetSimulator:
    def __init__(
        self,
        clusters: Sequence[str | SimulatedCluster],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        admin_token: str | None = None,
        workdir: Path | None = None,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
    ) -> None:
        """``tls_cert``/``tls_key`` serve HTTPS; the fleet file then trusts ``tls_cert`` as CA."""
        specs = [c if isinstance(c, SimulatedCluster) else SimulatedCluster(c) for c in clusters]
        names = [spec.name for spec in specs]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"need at least one cluster and unique names, got {names}")
        self._state = SimulatorState(
            clusters={spec.name: ClusterState.create(spec) for spec in specs},
            control_plane=EndpointState(token=new_token()),
            admin_token=admin_token or new_token(),
        )
        self.host = host
        self.port = port
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("give both tls_cert and tls_key, or neither")
        self._tls_cert = tls_cert
        self._tls_key = tls_key
        self._workdir = workdir
        self._own_workdir = workdir is None
        self._runner: web.AppRunner | None = None
        self._admin: AdminClient | None = None
        self._fleet: Fleet | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "http" if self._tls_cert is None else "https"
        return f"{scheme}://{host}:{self.port}"

    @property
    def admin_token(self) -> str:
        return self._state.admin_token

    @property
    def clusters(self) -> list[str]:
        return list(self._state.clusters)

    @property
    def fleet_path(self) -> Path:
        return self._running(self._workdir) / "fleet.yaml"

    @property
    def fleet(self) -> Fleet:
        """The fleet file as the adapter loads it."""
        return self._running(self._fleet)

    @property
    def admin(self) -> AdminClient:
        return self._running(self._admin)

    def server_url(self, cluster: str) -> str:
        return f"{self.url}/k8s/{cluster}"

    async def __aenter__(self) -> Self:
        try:
            tls = self._tls()
        except OSError as exc:
            raise SimulatorError(f"cannot load the TLS certificate or key: {exc}") from None
        runner = web.AppRunner(
            build_app(self._state), access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT_S
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port, ssl_context=tls).start()
        except OSError as exc:
            await runner.cleanup()
            raise SimulatorError(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
            ) from None
        self._runner = runner
        self.port = runner.addresses[0][1]
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="tmc-fleet-sim-"))
        self._fleet = load_fleet(self._write_fleet(self._workdir))
        self._admin = AdminClient(self.url, self.admin_token, ca_file=self._tls_cert)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._admin is not None:
            await self._admin.aclose()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._own_workdir and self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        self._runner = self._admin = self._fleet = None

    def _tls(self) -> ssl.SSLContext | None:
        if self._tls_cert is None or self._tls_key is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self._tls_cert, self._tls_key)
        return context

    def _write_fleet(self, workdir: Path) -> Path:
        tokens = workdir / "tokens"
        tokens.mkdir(mode=0o700, parents=True, exist_ok=True)

        trust = {} if self._tls_cert is None else {"ca_file": str(self._tls_cert)}

        def token_ref(name: str, token: str | None) -> dict[str, str]:
            if token is None:
                return trust
            path = tokens / f"{name}.token"
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
                f.write(token)
            if name in self._state.clusters:
                self._state.clusters[name].token_file = path
            return {"token_file": str(path), **trust}

        document: dict[str, Any] = {
            "control_plane": {
                "url": self.url,
                **token_ref("_control-plane", self._state.control_plane.token),
            },
            "clusters": {
                name: {
                    "server": self.server_url(name),
                    "logical_cluster": state.cluster.logical_cluster,
                    **token_ref(name, state.cluster.token),
                }
                for name, state in self._state.clusters.items()
            },
        }
        path = workdir / "fleet.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return path

    @staticmethod
    def _running(value: T | None) -> T:
        if value is None:
            raise RuntimeError("the simulator is not running; use it as `async with`")
        return value
