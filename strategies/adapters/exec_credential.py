"""Run a kubeconfig-style exec credential plugin and take the bearer token it prints.

The plugin gets ``KUBERNETES_EXEC_INFO`` (non-interactive) like kubectl gives it, must exit
0 within its timeout and print an ``ExecCredential`` with ``status.token``. Its stderr is
reported on failure (cut short); its stdout never is, since it holds the secret.
"""

from __future__ import annotations

import asyncio
import json
import os

from pydantic import SecretStr

from strategies.adapters.fleet import ExecPlugin
from strategies.gateway import GatewayError

API_VERSION = "client.authentication.k8s.io/v1"
_EXEC_INFO = json.dumps(
    {"apiVersion": API_VERSION, "kind": "ExecCredential", "spec": {"interactive": False}}
)


async def exec_token(plugin: ExecPlugin) -> SecretStr:
    """The token the plugin prints; GatewayError naming the plugin when it fails."""
    what = f"exec plugin {plugin.command}"
    env = {**os.environ, **plugin.env, "KUBERNETES_EXEC_INFO": _EXEC_INFO}
    try:
        process = await asyncio.create_subprocess_exec(
            plugin.command,
            *plugin.args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
    except OSError as exc:
        raise GatewayError(f"cannot run {what}: {exc.strerror or exc}") from None
    try:
        async with asyncio.timeout(plugin.timeout_s):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise GatewayError(f"{what} did not finish within {plugin.timeout_s} s") from None
    if process.returncode != 0:
        detail = err.decode("utf-8", "replace").strip()[:300]
        raise GatewayError(f"{what} exited with {process.returncode}: {detail}")
    return SecretStr(_token_of(out, what))


def _token_of(out: bytes, what: str) -> str:
    try:
        credential = json.loads(out)
    except ValueError:
        raise GatewayError(f"{what} did not print JSON") from None
    kind = credential.get("kind") if isinstance(credential, dict) else None
    status = credential.get("status") if kind == "ExecCredential" else None
    token = status.get("token") if isinstance(status, dict) else None
    if not isinstance(token, str) or not token:
        raise GatewayError(f"{what} printed no ExecCredential with a status.token")
    return token
