"""The executor's concurrency bound, which a runtime configuration may raise or lower.

asyncio.Semaphore cannot change its size while held. Here a lower limit takes effect as
running attempts end (none is interrupted); a higher one lets waiters in at once.
"""

import asyncio
from collections import deque
from types import TracebackType


class Slots:
    """``async with slots:`` holds one of ``limit`` slots; waiters are woken oldest first."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def resize(self, limit: int) -> None:
        self.limit = limit
        self._wake()

    async def __aenter__(self) -> None:
        while self.used >= self.limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                else:
                    self._wake()  # woken, then cancelled: pass the wake-up on
                raise
        self.used += 1

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.used -= 1
        self._wake()

    def _wake(self) -> None:
        """Wake as many waiters, oldest first, as there are free slots."""
        free = self.limit - self.used
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1
