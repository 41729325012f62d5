"""One agent per strategy: its request topic -> the executor, which runs work off-stream.

The agent only hands recoveries over (``submit`` returns at once), so a recovery that takes
minutes never blocks the partition. Cancels and approvals travel on the same topic, keyed by
cluster, so they reach the worker that owns the recovery.
"""

import logging

from faust.types import StreamT

from schemas.records import RecoveryState
from streams.context import Shared, header_pairs, now_ms
from streams.execution import approval, lifecycle
from streams.execution.executor import RecoveryExecutor

log = logging.getLogger(__name__)

COMMAND = "tmc.command"
RECOVERY_ID = "tmc.recovery-id"
REASON = "tmc.reason"


def cancel_headers(recovery_id: str, reason: str) -> list[tuple[str, bytes]]:
    return command_headers(b"cancel", recovery_id, reason)


def command_headers(command: bytes, recovery_id: str, reason: str) -> list[tuple[str, bytes]]:
    """A command about one recovery (cancel, approve), ``reason`` naming who and why."""
    return [(COMMAND, command), (RECOVERY_ID, recovery_id.encode()), (REASON, reason.encode())]


class RequestAgents:
    def __init__(self, pipeline: Shared, executor: RecoveryExecutor) -> None:
        self.p = pipeline
        self.executor = executor

    def register(self) -> None:
        for name, topic in self.p.topics.requests.items():
            self.p.app.agent(topic, name=f"tmc-requests-{name}")(self._handle)

    async def _handle(self, stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            headers = dict(header_pairs(event.message.headers))
            command = headers.get(COMMAND)
            if command in (b"cancel", b"approve"):
                recovery_id, reason = headers[RECOVERY_ID].decode(), headers[REASON].decode()
                cluster = (event.message.key or b"").decode()
                act = self._cancel if command == b"cancel" else self._approve
                await act(event.message.partition, cluster, recovery_id, reason)
            elif event.message.value:
                await self._submit(event.message.value)

    async def _submit(self, value: bytes) -> None:
        recovery = self.p.results.decode(value)
        row = self.p.reads.row_of(recovery)
        if row is not None and row.state.is_terminal:
            return  # a redelivered request for a recovery that already ended
        await self.executor.submit(row or recovery)

    async def _cancel(self, partition: int, cluster: str, recovery_id: str, reason: str) -> None:
        if await self.executor.cancel(recovery_id, reason):
            return
        if not await self.p.catchup.wait(partition):  # the row must be current, or absent
            return
        row = self.p.reads.row(cluster, recovery_id)
        if row is not None and not row.state.is_terminal:  # not running here (yet)
            await self.executor.release(lambda r: r.id == recovery_id)  # waiting to be admitted
            await self.p.publish(lifecycle.cancel(row, reason, now_ms(self.p.clock)))

    async def _approve(self, partition: int, cluster: str, recovery_id: str, reason: str) -> None:
        """As a cancel: to the executor waiting on it, else on the row (a restart or a
        rebalance is resuming it), which is then driven from the approved record."""
        if self.executor.approve(recovery_id, reason):
            return
        if not await self.p.catchup.wait(partition):
            return
        row = self.p.reads.row(cluster, recovery_id)
        if row is not None and row.state is RecoveryState.AWAITING_APPROVAL:
            log.info("recovery %s: approved on its row (not waiting here yet)", recovery_id)
            await self.executor.release(lambda r: r.id == recovery_id)
            approved = approval.approve(row, reason, now_ms(self.p.clock))
            await self.p.publish(approved)
            await self.executor.submit(approved)
