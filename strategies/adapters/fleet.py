"""The fleet description: which clusters exist, where their API servers are, and where the
control plane records their health. Loaded from YAML and validated up front, so a typo
fails at start with the field's path instead of mid-recovery.

Example::

    control_plane:
      url: https://kcp.example:6443
      token_file: /var/run/secrets/kcp/token
      ca_file: /etc/tmc/kcp-ca.pem
    clusters:
      east-1:
        server: https://east-1.example:6443
        logical_cluster: root:org:team
        token_env: EAST_1_TOKEN
        rate_limit: {qps: 2, burst: 4}   # optional; else the fleet's rate_limit
    rate_limit: {qps: 5, burst: 10}      # every cluster's API server (client-go's default)

Requests to each API server are rate-limited on our side (``strategies.adapters.throttle``):
each cluster by its own ``rate_limit`` or the fleet's (5 requests a second, bursts of 10, as
client-go), the control plane by its own (50 and 100 by default: it serves every cluster's
SyncTarget, as a controller's client would be tuned).

Tokens are referenced (file or environment variable), never inlined, and are read into a
``SecretStr`` only when a connection is made, so rotated tokens are picked up on refresh.
Instead of a token, an endpoint may name an exec credential plugin, as a kubeconfig's
``exec`` does (``exec: {command: /usr/bin/cloud-auth, args: [token]}``): it is run at every
(re)connection and prints an ``ExecCredential`` whose ``status.token`` is used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    FilePath,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from schemas.errors import TmcRecoveryError
from strategies.gateway import UnknownCluster

_DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"


class FleetConfigError(TmcRecoveryError):
    """The fleet file, or a token it references, is missing or invalid; names the field."""


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials; use token_file or token_env")
    return value.rstrip("/")


ServerUrl = Annotated[str, AfterValidator(_http_url)]
ClusterName = Annotated[str, Field(pattern=f"^{_DNS_LABEL}$")]
LogicalCluster = Annotated[str, Field(pattern=f"^{_DNS_LABEL}(:{_DNS_LABEL})*$")]


def _read_token_file(path: Path) -> str:
    """The stripped token; ValueError (never showing the content) when it can't be read."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        raise ValueError(f"token file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise ValueError(f"cannot read token file {path}: {exc.strerror or exc}") from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExecPlugin(_Strict):
    """A kubeconfig-style exec credential plugin (``client.authentication.k8s.io/v1``)."""

    command: str = Field(min_length=1)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(default=10.0, gt=0, le=120)


class Endpoint(_Strict):
    """How to reach one API server: optional bearer token reference and CA bundle."""

    token_file: FilePath | None = None
    token_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    exec: ExecPlugin | None = None
    ca_file: FilePath | None = None

    @field_validator("token_file")
    @classmethod
    def _token_file_has_a_token(cls, path: Path | None) -> Path | None:
        if path is not None and not _read_token_file(path):
            raise ValueError("the token file is empty")
        return path

    @field_validator("token_env")
    @classmethod
    def _token_env_is_set(cls, name: str | None) -> str | None:
        if name is not None and not os.environ.get(name, "").strip():
            raise ValueError(f"environment variable {name} is not set or empty")
        return name

    @model_validator(mode="after")
    def _one_token_source(self) -> Endpoint:
        sources = [self.token_file, self.token_env, self.exec]
        if sum(source is not None for source in sources) > 1:
            raise ValueError("set one of token_file, token_env and exec")
        return self

    def bearer_token(self) -> SecretStr | None:
        """The token as of now (files and variables may have been rotated since load)."""
        if self.token_file is not None:
            try:
                token = _read_token_file(self.token_file)
            except ValueError as exc:
                raise FleetConfigError(str(exc)) from None
        elif self.token_env is not None:
            token = os.environ.get(self.token_env, "").strip()
        else:
            return None
        if not token:
            raise FleetConfigError(f"the bearer token from {self.token_source()} is empty")
        return SecretStr(token)

    def token_source(self) -> str:
        """Where the token comes from, for messages (never the token itself)."""
        if self.token_file is not None:
            return f"token_file {self.token_file}"
        if self.exec is not None:
            return f"exec plugin {self.exec.command}"
        return f"token_env {self.token_env}" if self.token_env else "no token"


class RateLimit(_Strict):
    """A token bucket: ``qps`` requests a second on average, ``burst`` at once."""

    qps: float = Field(default=5.0, gt=0, le=10_000)
    burst: int = Field(default=10, ge=1, le=100_000)


class ControlPlane(Endpoint):
    """The kcp front door; cluster health is recorded on SyncTargets there.

    kcp serves each logical cluster under ``/clusters/<name>``; a plain kube-apiserver
    standing in for it (one logical cluster, at its root) sets ``logical_cluster_paths:
    false``."""

    url: ServerUrl
    logical_cluster_paths: bool = True
    rate_limit: RateLimit = RateLimit(qps=50, burst=100)


class ClusterEndpoint(Endpoint):
    """A workload cluster's API server and the kcp logical cluster holding its SyncTarget."""

    server: ServerUrl
    logical_cluster: LogicalCluster
    rate_limit: RateLimit | None = None


class Fleet(_Strict):
    """The whole file: the control plane and the clusters by name (DNS labels, as SyncTargets)."""

    control_plane: ControlPlane
    clusters: dict[ClusterName, ClusterEndpoint] = Field(min_length=1)
    rate_limit: RateLimit = RateLimit()

    def cluster(self, name: str) -> ClusterEndpoint:
        try:
            return self.clusters[name]
        except KeyError:
            raise UnknownCluster(name) from None


def _describe(error: ValidationError) -> str:
    """``clusters.east-1.server: Value error, must be an http:// ...; ...``"""
    problems = []
    for problem in error.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        problems.append(f"{field}: {problem['msg']}")
    return "; ".join(problems)


def parse_fleet(data: object, source: str = "fleet") -> Fleet:
    """A Fleet from already-parsed YAML/JSON; FleetConfigError naming each bad field."""
    try:
        return Fleet.model_validate(data)
    except ValidationError as exc:
        raise FleetConfigError(f"{source}: {_describe(exc)}") from None


def load_fleet(path: Path) -> Fleet:
    """Read and validate a fleet file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FleetConfigError(f"cannot read fleet file {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise FleetConfigError(f"fleet file {path} is not valid YAML: {exc}") from None
    return parse_fleet(data, str(path))
