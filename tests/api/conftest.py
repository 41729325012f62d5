"""Real workers (the pipeline tests' fixtures: a simulated fleet, a per-test environment,
workers stopped by pid) and an HTTP client for their APIs."""

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from schemas.records import RecoveryResult, RecoveryState
from streams.testing.harness import (
    PipelineEnv,
    WorkerProcess,
    emit,
    unreachable,
    wait_for_table,
)
from tests.pipeline.conftest import CLUSTERS, env, fleet, start_worker, workers

__all__ = ["CLUSTERS", "env", "fleet", "get", "http", "one_recovery", "start_worker", "workers"]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


async def get(http: aiohttp.ClientSession, url: str, **params: str) -> tuple[int, Any]:
    """An API answer's status and JSON body."""
    async with http.get(url, params=params) as reply:
        return reply.status, await reply.json()


async def one_recovery(
    env: PipelineEnv,
    start_worker: Callable[..., WorkerProcess],
    cluster: str,
    state: RecoveryState,
    **config: object,
) -> tuple[str, WorkerProcess, RecoveryResult]:
    """A worker (``config``) whose API is serving, and the one recovery an unreachable
    ``cluster`` starts there, once its row is in ``state``: (API URL, worker, row)."""
    worker = start_worker("w1", **config)
    url = await worker.api_url()
    await worker.ready()
    await emit(env.bootstrap, env.topics["errors"], [unreachable(cluster)])
    rows = await wait_for_table(
        env, lambda rows: any(r.state is state for r in rows.values()), workers=(worker,)
    )
    (row,) = rows.values()
    return url, worker, row
