"""Real workers (the pipeline tests' fixtures: a simulated fleet, a per-test environment,
workers stopped by pid) and an HTTP client for their APIs."""

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.pipeline.conftest import CLUSTERS, env, fleet, start_worker, workers

__all__ = ["CLUSTERS", "env", "fleet", "get", "http", "start_worker", "workers"]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


async def get(http: aiohttp.ClientSession, url: str, **params: str) -> tuple[int, Any]:
    """An API answer's status and JSON body."""
    async with http.get(url, params=params) as reply:
        return reply.status, await reply.json()
