"""Waiting for the recovery an emitted error started or joined.

``ErrorEmitter.emit`` returns only the event id. The recovery it causes appears later on the
results topic, on the partition of the error's cluster, and either carries that event id (it
started the recovery, or was escalated at admission) or not at all: an error merged into a
running recovery reaches that recovery's status row, never its results records. So the tracker
looks two ways at once, the cluster's results partition read from a known time (never only
what arrives after it subscribed, which would lose a fast recovery) and, given a worker's API,
``GET /recoveries?event_id=`` for merges, keyed by (cluster, event id) on the worker that owns
the cluster, so a merge past the 200 ids a row keeps is found too, for ``dedup.event_id_ttl_s``
after it was triaged (streams/api/share.py). Once it knows the recovery, it reads that
recovery's records from its start and stops at its terminal state.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from typing import Any, Self

import aiohttp

from schemas.codec import SchemaRegistryClient
from schemas.records import RecoveryResult
from streams.clients.errors import FollowError
from streams.clients.subscriber import DEFAULT_RESULTS_TOPIC, ResultSubscriber


class RecoveryTracker:
    """``async with RecoveryTracker(bootstrap, api=url) as t: await t.wait(event_id, "edge-1", 9)``

    Open it before emitting: by default it reads results from the time it was opened (less
    ``clock_skew_s``, for a worker whose clock runs behind). ``since`` reaches further back, for
    an event emitted before the tracker existed. ``cluster`` is the error's Kafka key: its cluster
    name, or its component when it has none.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        api: str | None = None,
        topic: str = DEFAULT_RESULTS_TOPIC,
        registry: SchemaRegistryClient | None = None,
        clock_skew_s: float = 5.0,
        lookup_interval_s: float = 0.5,
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._api = api.rstrip("/") if api else None
        self._topic = topic
        self._registry = registry
        self._skew = timedelta(seconds=clock_skew_s)
        self._interval = lookup_interval_s
        self._opened_at = datetime.now(UTC)
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._opened_at = datetime.now(UTC)
        if self._api is not None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.close()

    async def wait(
        self, event_id: str, cluster: str, within_s: float, *, since: datetime | None = None
    ) -> RecoveryResult:
        """The terminal record (Completed, Cancelled or Escalated) of the event's recovery.

        Raises :class:`FollowError` when none arrives within ``within_s`` seconds.
        """
        last: RecoveryResult | None = None
        async for result in self.follow(event_id, cluster, within_s=within_s, since=since):
            last = result
        assert last is not None  # follow() ends only after a terminal record
        return last

    async def follow(
        self,
        event_id: str,
        cluster: str,
        *,
        within_s: float | None = None,
        since: datetime | None = None,
    ) -> AsyncGenerator[RecoveryResult]:
        """Every record of the event's recovery from its first, ending with the terminal one.

        Raises :class:`FollowError` when that has not come within ``within_s`` seconds (counted
        only while it waits for Kafka or the API, never while the caller handles a record).
        """
        deadline = None if within_s is None else asyncio.get_running_loop().time() + within_s
        last: RecoveryResult | None = None
        try:
            async with asyncio.timeout_at(deadline):
                recovery_id, started = await self._find(event_id, cluster, since or self._opened_at)
            async with self._subscriber(cluster, started, recovery_id=recovery_id) as results:
                while last is None or not last.state.is_terminal:
                    async with asyncio.timeout_at(deadline):
                        last = await anext(results)
                    yield last
        except TimeoutError:
            raise _unfinished(event_id, within_s or 0, last) from None

    async def _find(self, event_id: str, cluster: str, since: datetime) -> tuple[str, datetime]:
        """The id and start time of the recovery the event started (results) or joined (API)."""
        async with self._subscriber(cluster, since, event_id=event_id) as results:
            searches = [asyncio.ensure_future(_first(results))]
            if self._http is not None:
                searches.append(asyncio.ensure_future(self._ask_api(self._http, event_id, cluster)))
            try:
                done, _ = await asyncio.wait(searches, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for search in searches:
                    search.cancel()
                await asyncio.gather(*searches, return_exceptions=True)  # settled before closing
            return done.pop().result()

    def _subscriber(
        self, cluster: str, since: datetime, *, recovery_id: str = "", event_id: str = ""
    ) -> ResultSubscriber:
        return ResultSubscriber(
            self._bootstrap,
            topic=self._topic,
            clusters={cluster},
            recovery_ids={recovery_id} - {""},
            event_ids={event_id} - {""},
            since=since - self._skew,
            registry=self._registry,
        )

    async def _ask_api(
        self, http: aiohttp.ClientSession, event_id: str, cluster: str
    ) -> tuple[str, datetime]:
        """Ask until the status table knows the event; a 503 (rebalancing) is asked again."""
        url = f"{self._api}/recoveries"
        while True:
            try:
                async with http.get(url, params={"event_id": event_id, "cluster": cluster}) as r:
                    answer: dict[str, Any] = await r.json() if r.status != 503 else {}
                    if r.status not in (200, 503):
                        raise FollowError(f"{url}: {r.status} {answer.get('error', r.reason)}")
            except (aiohttp.ClientError, ValueError) as exc:
                raise FollowError(f"{url}: no answer ({exc!r})") from exc
            for row in answer.get("recoveries", ()):
                return row["id"], datetime.fromisoformat(row["start_time"])
            await asyncio.sleep(self._interval)


async def _first(results: ResultSubscriber) -> tuple[str, datetime]:
    result = await anext(results)
    return result.id, result.start_time


def _unfinished(event_id: str, timeout: float, last: RecoveryResult | None) -> FollowError:
    if last is None:
        return FollowError(f"no recovery found for event {event_id} within {timeout:g} s")
    return FollowError(
        f"recovery {last.id} of event {event_id} still {last.state} after {timeout:g} s", last
    )
