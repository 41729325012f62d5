"""Typed failures of the client library, so callers handle Kafka trouble without aiokafka types."""

from __future__ import annotations

from schemas.errors import TmcRecoveryError


class EmitError(TmcRecoveryError):
    """An error event was not confirmed by Kafka within the delivery timeout.

    It may still arrive; resending the same record (same ``event_id``) stays deduplicable.
    """

    def __init__(self, message: str, event_id: str | None = None) -> None:
        super().__init__(message)
        self.event_id = event_id


class SubscribeError(TmcRecoveryError):
    """The subscriber could not start following its topic."""
