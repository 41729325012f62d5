"""Publishing a transition with bounded retries, so a broker hiccup does not lose a recovery.

Every record carries the recovery's whole history, so a record given up on is healed by the next
one that gets through; until then it is kept in ``unpublished`` for health and /status to show.
"""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping

from schemas.records import RecoveryResult
from streams.config import RetrySettings
from streams.execution.backoff import retry_delay

log = logging.getLogger(__name__)

Publish = Callable[[RecoveryResult], Awaitable[None]]


class RetryingPublisher:
    def __init__(
        self, publish: Publish, retry: RetrySettings, rng: random.Random, attempts: int
    ) -> None:
        self._publish = publish
        self._retry = retry
        self._rng = rng
        self._attempts = attempts
        self._unpublished: dict[str, RecoveryResult] = {}

    @property
    def unpublished(self) -> Mapping[str, RecoveryResult]:
        """Latest records that could not be published, by recovery id."""
        return dict(self._unpublished)

    async def publish(self, record: RecoveryResult) -> None:
        """Publish ``record``, retrying with backoff; kept in ``unpublished`` if it never goes."""
        for attempt in range(1, self._attempts + 1):
            try:
                await self._publish(record)
            except Exception:
                log.warning(
                    "recovery %s: publishing %s failed (try %d of %d)",
                    record.id,
                    record.state,
                    attempt,
                    self._attempts,
                    exc_info=True,
                )
            else:
                self._unpublished.pop(record.id, None)
                return
            if attempt < self._attempts:
                await asyncio.sleep(retry_delay(attempt, self._retry, self._rng))
        log.error(
            "recovery %s: gave up publishing %s; kept in memory, the next transition carries it",
            record.id,
            record.state,
        )
        self._unpublished[record.id] = record

    def forget(self, recovery_id: str) -> None:
        """Drop a released recovery: its partition's next owner now answers for it."""
        self._unpublished.pop(recovery_id, None)
