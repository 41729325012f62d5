"""Starts one etcd and several real kube-apiservers on 127.0.0.1: the tests' fleet.

Each apiserver keeps its objects under its own etcd prefix and has its own
service-account key and tokens, so the clusters are isolated as real ones are. One of
them is the control plane and serves the SyncTarget, Placement and Migration CRDs.
Every process is stopped by its own pid, the apiservers before etcd: the other order
leaves an apiserver retrying etcd for half a minute.
"""

import functools
import json
import secrets
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.kube import crds, pki
from tests.kube.build import Binaries

ADMIN = "admin"
# Plain users: authenticated, and allowed nothing that a test does not bind to them.
USERS = ("alice", "bob", "carol")
CONTROL_PLANE = "control-plane"
READY_TIMEOUT = 60.0
_CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


@dataclass(frozen=True)
class Cluster:
    """One apiserver as a client sees it: where it is, what to trust, and who may call."""

    name: str
    url: str
    ca_file: Path
    # user name -> bearer token; ADMIN is in system:masters, USERS in no group.
    tokens: Mapping[str, str]

    @property
    def admin_token(self) -> str:
        return self.tokens[ADMIN]

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def session(self, token: str | None = None) -> aiohttp.ClientSession:
        """An aiohttp session on this cluster (paths relative to its URL), as admin by default."""
        return aiohttp.ClientSession(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token or self.admin_token}"},
            connector=aiohttp.TCPConnector(ssl=self.ssl_context()),
            timeout=aiohttp.ClientTimeout(total=30),
        )

    async def fresh_namespace(self, prefix: str = "test") -> str:
        """A new namespace per test: with no controller-manager, a deleted one stays Terminating."""
        name = f"{prefix}-{secrets.token_hex(4)}"
        async with self.session() as session:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            async with session.post("/api/v1/namespaces", json=body) as response:
                response.raise_for_status()
        return name


class _Process:
    """A child started in its own session, ended by its pid alone."""

    def __init__(self, name: str, argv: Sequence[str | Path], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("wb") as out:
            self.popen = subprocess.Popen(
                list(map(str, argv)), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(
                f"{self.name} exited ({self.popen.returncode}); log {self.log}:\n{tail}"
            )

    def terminate(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()

    def stop(self, timeout: float = 15.0) -> None:
        self.terminate()
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


@dataclass
class _Processes:
    etcd_data: Path
    etcd: _Process | None = None
    apiservers: list[_Process] = field(default_factory=list)

    def stop(self) -> None:
        """Apiservers first, all at once, then etcd, then etcd's preallocated files."""
        for process in self.apiservers:
            process.terminate()
        for process in self.apiservers:
            process.stop()
        if self.etcd is not None:
            self.etcd.stop()
        shutil.rmtree(self.etcd_data, ignore_errors=True)


@dataclass(frozen=True)
class Fleet:
    """The running clusters; ``stop()`` ends every process that ``start()`` started."""

    control_plane: Cluster
    clusters: tuple[Cluster, ...]
    start_seconds: float
    _processes: _Processes

    def stop(self) -> None:
        self._processes.stop()


def start(
    binaries: Binaries, workdir: Path, names: Sequence[str] = ("cluster-1", "cluster-2")
) -> Fleet:
    """Starts etcd, then the control plane and an apiserver per name; returns once all are ready."""
    started = time.monotonic()
    serving = pki.serving_pki(workdir)
    processes = _Processes(workdir / "etcd")
    client_port, peer_port = _free_port(), _free_port()
    etcd_url = f"http://127.0.0.1:{client_port}"
    peer_url = f"http://127.0.0.1:{peer_port}"
    # fmt: off
    processes.etcd = etcd = _Process("etcd", [
        binaries.etcd, "--name=test", f"--data-dir={processes.etcd_data}", "--log-level=warn",
        f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
        f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster=test={peer_url}", "--unsafe-no-fsync",
    ], workdir / "etcd.log")
    # fmt: on
    try:
        _wait(etcd, functools.partial(_get_ok, f"{etcd_url}/health"))
        clusters = [
            _apiserver(processes, binaries, serving, etcd_url, workdir / name, name)
            for name in (CONTROL_PLANE, *names)
        ]
        for cluster, process in zip(clusters, processes.apiservers, strict=True):
            _wait(process, functools.partial(_get_ok, f"{cluster.url}/readyz", cluster))
        _install_crds(clusters[0])
    except BaseException:
        processes.stop()
        raise
    return Fleet(clusters[0], tuple(clusters[1:]), time.monotonic() - started, processes)


def _apiserver(
    processes: _Processes,
    binaries: Binaries,
    serving: pki.ServingPki,
    etcd_url: str,
    home: Path,
    name: str,
) -> Cluster:
    home.mkdir()
    tokens = {user: secrets.token_urlsafe(24) for user in (ADMIN, *USERS)}
    token_file = home / "tokens.csv"
    token_file.write_text(
        "".join(
            f'{token},{user},{user},"system:masters"\n'
            if user == ADMIN
            else f"{token},{user},{user}\n"
            for user, token in tokens.items()
        )
    )
    sa_key = pki.private_key(home / "service-account.key")
    port = _free_port()
    # fmt: off
    processes.apiservers.append(_Process(f"kube-apiserver {name}", [
        binaries.apiserver, f"--etcd-servers={etcd_url}", f"--etcd-prefix=/{name}",
        "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={port}",
        "--endpoint-reconciler-type=none", "--service-cluster-ip-range=10.0.0.0/24",
        f"--tls-cert-file={serving.cert}", f"--tls-private-key-file={serving.key}",
        f"--service-account-key-file={sa_key}", f"--service-account-signing-key-file={sa_key}",
        f"--service-account-issuer=https://{name}.tmc.test", f"--cert-dir={home}",
        f"--token-auth-file={token_file}", "--authorization-mode=RBAC",
    ], home / "apiserver.log"))
    # fmt: on
    return Cluster(name, f"https://127.0.0.1:{port}", serving.ca, tokens)


def _install_crds(cluster: Cluster) -> None:
    for definition in crds.DEFINITIONS:
        _call(cluster, "POST", _CRDS, definition)
    for definition in crds.DEFINITIONS:
        path = f"{_CRDS}/{definition['metadata']['name']}"
        deadline = time.monotonic() + READY_TIMEOUT
        while not any(
            c["type"] == "Established" and c["status"] == "True"
            for c in _call(cluster, "GET", path).get("status", {}).get("conditions", [])
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRD {definition['metadata']['name']} not Established")
            time.sleep(0.05)


def _call(cluster: Cluster, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        cluster.url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {cluster.admin_token}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, context=cluster.ssl_context(), timeout=10) as response:
        return json.load(response)


def _get_ok(url: str, cluster: Cluster | None = None) -> bool:
    request = urllib.request.Request(url)
    if cluster is not None:
        request.add_header("Authorization", f"Bearer {cluster.admin_token}")
    context = cluster.ssl_context() if cluster is not None else None
    try:
        with urllib.request.urlopen(request, context=context, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _wait(process: _Process, ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not ready():
        process.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{process.name} not ready after {READY_TIMEOUT:.0f} s; log {process.log}"
            )
        time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
