"""Which results record is a Kubernetes Event, and that Event's fields.

Only beginnings and endings are events, so a reader of ``kubectl get events`` sees what an
operator acts on: RecoveryStarted (the first attempt's InProgress), RecoveryCompleted,
RecoveryFailed (Escalated, the Go design's final failure) and RecoveryCancelled. Retries
between them are on the results topic and the row, not here.

The involved object is the cluster's SyncTarget (an error's cluster is a TMC SyncTarget), so
``kubectl describe synctarget edge-1`` lists its recoveries; an error without a cluster names
its component. Every field comes from the record, times included, so a redelivered record
makes the same Event.
"""

import re
import zlib
from datetime import datetime

from schemas.records import (
    EventMeta,
    EventSource,
    EventType,
    ObjectReference,
    RecoveryEvent,
    RecoveryResult,
    RecoveryState,
)

SYNC_TARGET_API = "tmc.kcp.io/v1alpha1"
COMPONENT = "tmc-recovery"
ANNOTATION = "tmc.kcp.io/"

STARTED, COMPLETED = "RecoveryStarted", "RecoveryCompleted"
FAILED, CANCELLED = "RecoveryFailed", "RecoveryCancelled"


def _words(error_type: str) -> str:
    """``ClusterUnreachable`` as the Go design writes it in a message: ``cluster unreachable``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", error_type).lower()


def _ended_because(record: RecoveryResult) -> str:
    reason = record.transitions[-1].reason if record.transitions else None
    return reason or (record.result.message if record.result else "") or record.state.value


def _reason_and_message(record: RecoveryResult) -> tuple[str, EventType, str] | None:
    what = f"{record.strategy} recovery for {_words(record.error.type_name)} error"
    state = record.state
    if state is RecoveryState.IN_PROGRESS and record.context.attempt == 1:
        return STARTED, EventType.NORMAL, f"Started {what}"
    if state is RecoveryState.COMPLETED:
        return COMPLETED, EventType.NORMAL, f"Completed {what}"
    if state is RecoveryState.ESCALATED:  # its reason is already the seed's sentence
        return FAILED, EventType.WARNING, _ended_because(record)
    if state is RecoveryState.CANCELLED:
        return CANCELLED, EventType.NORMAL, f"Cancelled {what}: {_ended_because(record)}"
    return None


def involved_object(record: RecoveryResult) -> ObjectReference:
    cluster = record.error.cluster_name
    if cluster is None:
        return ObjectReference(kind="Component", name=record.error.component)
    return ObjectReference(kind="SyncTarget", name=cluster, api_version=SYNC_TARGET_API)


def event_name(obj: ObjectReference, at: datetime, salt: str) -> str:
    """client-go's name for a new Event, the object's name and the time in hex nanoseconds;
    records keep milliseconds, so the nanoseconds come from ``salt`` (what the Event is about),
    which keeps two Events of one millisecond apart and a replay's name the same."""
    nanos = round(at.timestamp() * 1000) * 1_000_000 + zlib.crc32(salt.encode()) % 1_000_000
    return f"{obj.name}.{nanos:x}"


def event_of(record: RecoveryResult, host: str) -> RecoveryEvent | None:
    """The Event ``record`` stands for (count 1, before correlation), or None."""
    described = _reason_and_message(record)
    if described is None:
        return None
    reason, kind, message = described
    at = record.transitions[-1].at if record.transitions else record.start_time
    obj = involved_object(record)
    annotations = {
        f"{ANNOTATION}recovery-id": record.id,
        f"{ANNOTATION}strategy": record.strategy,
        f"{ANNOTATION}target": record.target,
        f"{ANNOTATION}error-type": record.error.type_name,
    }
    return RecoveryEvent(
        metadata=EventMeta(
            name=event_name(obj, at, f"{record.id}/{reason}"), annotations=annotations
        ),
        involved_object=obj,
        reason=reason,
        message=message,
        type=kind,
        first_timestamp=at,
        last_timestamp=at,
        source=EventSource(component=COMPONENT, host=host),
    )
