"""Which worker answers for which partition, and asking it.

Every worker advertises its API URL as its Faust ``canonical_url``, which the group's
assignment carries to every member; the assignment also says which member owns each
partition of the tables' changelogs. So any worker can route a cluster's request to the
owner of the cluster's partition and gather a fleet-wide answer from every member, with no
registry of its own. Peers are asked with ``scope=local``: answer from your own share, do
not route again (a rebalance in flight could otherwise bounce a request between workers).
"""

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import faust

from streams.api.exceptions import NotServing, PeerUnavailable
from streams.partitioning import partition_for

LOCAL = {"scope": "local"}


class Fleet:
    def __init__(self, app: faust.App, changelog: str, partitions: int, timeout_s: float) -> None:
        """``changelog``: the status table's changelog topic, whose owner serves a row."""
        self.app = app
        self._changelog = changelog
        self._partitions = partitions
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    @property
    def own_url(self) -> str:
        return str(self.app.conf.canonical_url)

    def _distribution(self) -> Mapping[str, Mapping[str, list[int]]]:
        return self.app.router.tables_metadata()

    def members(self) -> list[str]:
        """Every worker's API URL in the current assignment (this one's, at least)."""
        return sorted({*self._distribution(), self.own_url})

    def owner(self, cluster: str) -> str:
        """The API URL of the worker that owns ``cluster``'s partition."""
        partition = partition_for(cluster.encode(), self._partitions)
        for url, topics in self._distribution().items():
            if partition in topics.get(self._changelog, ()):
                return url
        raise NotServing(f"no worker owns partition {partition} yet (rebalancing)")

    async def ask(
        self, url: str, path: str, params: Mapping[str, str]
    ) -> tuple[int, dict[str, Any]]:
        """A peer's HTTP status and JSON answer to ``path`` for its own share."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.get(f"{url}{path}", params={**params, **LOCAL}) as reply:
                body: dict[str, Any] = await reply.json()
                return reply.status, body
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise PeerUnavailable(f"worker {url} did not answer {path}: {exc!r}") from exc

    async def gather(
        self, path: str, params: Mapping[str, str], here: Callable[[], dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Every member's share: this worker's from ``here``, the others' over HTTP."""

        async def share(url: str) -> dict[str, Any]:
            if url == self.own_url:
                return here()
            status, body = await self.ask(url, path, params)
            if status != 200:
                raise PeerUnavailable(f"worker {url} answered {status}: {body.get('error')}")
            return body

        return list(await asyncio.gather(*(share(url) for url in self.members())))

    async def route(
        self,
        cluster: str,
        path: str,
        params: Mapping[str, str],
        here: Callable[[], dict[str, Any]],
    ) -> tuple[int, dict[str, Any]]:
        """The answer of ``cluster``'s owner: ``here`` when it is this worker."""
        owner = self.owner(cluster)
        if owner == self.own_url:
            return 200, here()
        return await self.ask(owner, path, params)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
