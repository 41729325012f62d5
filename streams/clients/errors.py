"""Typed failures of the client library, so callers handle Kafka trouble without aiokafka types."""

from __future__ import annotations

from schemas.errors import TmcRecoveryError
from schemas.records import RecoveryResult


class EmitError(TmcRecoveryError):
    """An error event was not confirmed by Kafka within the delivery timeout.

    It may still arrive; resending the same record (same ``event_id``) stays deduplicable.
    """

    def __init__(self, message: str, event_id: str | None = None) -> None:
        super().__init__(message)
        self.event_id = event_id


class SubscribeError(TmcRecoveryError):
    """The subscriber could not start following its topic."""


class FollowError(TmcRecoveryError):
    """The recovery an event started or joined did not end in time, or could not be looked up.

    ``last`` is the latest transition seen, if any, so a caller can say how far it got.
    """

    def __init__(self, message: str, last: RecoveryResult | None = None) -> None:
        super().__init__(message)
        self.last = last
