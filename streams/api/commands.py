"""The changes the API makes, as commands on Kafka, never on the tables (status is their one
writer): a cancel goes on the recovery's request topic, keyed by its cluster, so it reaches
whichever worker owns the recovery (streams/execution/agent.py), and its reason names who
asked, so the Cancelled transition on the row says who and why; an approval travels the same
way (streams/api/approvals.py); a retry is its error emitted again on the errors topic
(streams/api/retry.py)."""

import logging

from schemas.records import TMCError
from streams.api.exceptions import Conflict
from streams.context import Shared
from streams.execution.agent import command_headers

log = logging.getLogger(__name__)


class Commands:
    def __init__(self, shared: Shared) -> None:
        self.shared = shared

    async def cancel(self, cluster: str, strategy: str, recovery_id: str, reason: str) -> None:
        """Sent and acknowledged before it returns; the owner acts on it at once."""
        await self._send(b"cancel", cluster, strategy, recovery_id, reason)

    async def approve(self, cluster: str, strategy: str, recovery_id: str, reason: str) -> None:
        """As a cancel: the owner lets the recovery awaiting approval act."""
        await self._send(b"approve", cluster, strategy, recovery_id, reason)

    async def _send(
        self, command: bytes, cluster: str, strategy: str, recovery_id: str, reason: str
    ) -> None:
        topic = self.shared.topics.requests.get(strategy)
        if topic is None:
            raise Conflict(f"strategy {strategy} runs on no request topic: nothing to command")
        headers = command_headers(command, recovery_id, reason)
        await self.shared.out_of_band.send(topic, cluster.encode(), b"", headers)
        log.info("audit: %s of %s on %s sent (%s)", command.decode(), recovery_id, cluster, reason)

    async def emit(self, error: TMCError) -> None:
        """On the errors topic as an emitter would send it, keyed by its cluster; sent and
        acknowledged before it returns."""
        errors = self.shared.topics.errors
        await self.shared.out_of_band.send(
            errors, error.kafka_key(), self.shared.errors.encode(error)
        )
        log.info("error %s emitted again as event %s", error.type.value, error.event_id)
