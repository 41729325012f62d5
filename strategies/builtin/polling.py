"""Waiting for a controller's answer. Controllers (a syncer, a migration controller) act
asynchronously on what a strategy writes, so a strategy reads back a bounded number of
times; an answer that has not come is not a verdict, and the attempt is retried."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from strategies.journal import Journal

T = TypeVar("T")


@dataclass(frozen=True)
class Checks:
    """Up to ``count`` reads, ``delay_s`` apart."""

    count: int = 10
    delay_s: float = 1.0

    async def until(
        self,
        read: Callable[[], Awaitable[T]],
        answered: Callable[[T], bool],
        journal: Journal,
        metric: str,
    ) -> T:
        """The first read that ``answered`` accepts, else the last one; reads counted."""
        value = await read()
        journal.count(metric)
        for _ in range(self.count - 1):
            if answered(value):
                break
            await asyncio.sleep(self.delay_s)
            value = await read()
            journal.count(metric)
        return value


#: The built-ins' default: ten reads a second apart, well within their timeouts.
PATIENT = Checks()
