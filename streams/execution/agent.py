"""One agent per strategy: its request topic -> the executor, which runs work off-stream.

The agent only hands recoveries over (``submit`` returns at once), so a recovery that takes
minutes never blocks the partition. Cancels travel on the same topic, keyed by cluster, so
they reach the worker that owns the recovery.
"""

import logging
from collections.abc import AsyncIterator

from faust.types import StreamT

from streams.context import Shared, header_pairs, now_ms
from streams.execution import lifecycle
from streams.execution.executor import RecoveryExecutor

log = logging.getLogger(__name__)

COMMAND = "tmc.command"
RECOVERY_ID = "tmc.recovery-id"
REASON = "tmc.reason"


def cancel_headers(recovery_id: str, reason: str) -> list[tuple[str, bytes]]:
    return [(COMMAND, b"cancel"), (RECOVERY_ID, recovery_id.encode()), (REASON, reason.encode())]


class RequestAgents:
    def __init__(self, pipeline: Shared, executor: RecoveryExecutor) -> None:
        self.p = pipeline
        self.executor = executor

    def register(self) -> None:
        for name, topic in self.p.topics.requests.items():
            self.p.app.agent(topic, name=f"tmc-requests-{name}")(self._handle)

    async def _handle(self, stream: StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            headers = dict(header_pairs(event.message.headers))
            if headers.get(COMMAND) == b"cancel":
                recovery_id, reason = headers[RECOVERY_ID].decode(), headers[REASON].decode()
                cluster = (event.message.key or b"").decode()
                await self._cancel(event.message.partition, cluster, recovery_id, reason)
            elif event.message.value:
                await self._submit(event.message.value)
            yield None

    async def _submit(self, value: bytes) -> None:
        recovery = self.p.results.decode(value)
        row = self.p.row_of(recovery)
        if row is not None and row.state.is_terminal:
            return  # a redelivered request for a recovery that already ended
        await self.executor.submit(row or recovery)

    async def _cancel(self, partition: int, cluster: str, recovery_id: str, reason: str) -> None:
        if await self.executor.cancel(recovery_id, reason):
            return
        if not await self.p.catchup.wait(partition):  # the row must be current, or absent
            return
        row = self.p.row(cluster, recovery_id)
        if row is not None and not row.state.is_terminal:  # not running here (yet)
            await self.executor.release(lambda r: r.id == recovery_id)  # waiting to be admitted
            await self.p.publish(lifecycle.cancel(row, reason, now_ms(self.p.clock)))
