"""Recovery ids: deterministic, so a replayed error yields the same id, and unique, unlike
the seed's ``Type-unixseconds`` which collides within a second."""

import uuid
from dataclasses import dataclass

from schemas.records import TMCError

_NAMESPACE = uuid.UUID("6f1d3b0e-6a49-4c1e-9a53-2b1f0c7d9e21")

#: The error context key of an operator's retry: the id of the ended recovery it runs again.
RETRY_OF = "tmc.retry-of"


@dataclass(frozen=True, slots=True)
class Source:
    """Where a record was read: a redelivery has the same source, a resend a new one."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


def trigger_of(error: TMCError, source: Source | str) -> str:
    """What started the recovery: the event id, else the record's topic/partition/offset."""
    return error.event_id or str(source)


def recovery_id(strategy: str, target: str, trigger: str) -> str:
    """``<strategy>-<22 hex>`` from a UUIDv5 of (strategy, target, trigger)."""
    digest = uuid.uuid5(_NAMESPACE, f"{strategy}\x1f{target}\x1f{trigger}").hex
    return f"{strategy}-{digest[:22]}"
