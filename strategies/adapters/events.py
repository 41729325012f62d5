"""A recovery's Event (``schemas.records.RecoveryEvent``) as the core/v1 Event JSON an API
server takes, so ``kubectl describe`` of the involved object lists it. Timestamps go out
in RFC 3339 at whole seconds, as ``metav1.Time`` serializes them."""

from __future__ import annotations

from schemas.records import ObjectReference, RecoveryEvent
from strategies.adapters.conditions import rfc3339
from strategies.gateway import KubeObject


def _reference(obj: ObjectReference) -> dict[str, str]:
    fields = {
        "kind": obj.kind,
        "name": obj.name,
        "namespace": obj.namespace,
        "apiVersion": obj.api_version,
        "uid": obj.uid,
    }
    return {key: value for key, value in fields.items() if value is not None}


def event_object(event: RecoveryEvent) -> KubeObject:
    """The Event to create in ``event.metadata.namespace``."""
    meta, source = event.metadata, event.source
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": meta.name,
            "namespace": meta.namespace,
            "labels": dict(meta.labels),
            "annotations": dict(meta.annotations),
        },
        "involvedObject": _reference(event.involved_object),
        "reason": event.reason,
        "message": event.message,
        "type": event.type.value,
        "count": event.count,
        "firstTimestamp": rfc3339(event.first_timestamp),
        "lastTimestamp": rfc3339(event.last_timestamp),
        "source": {"component": source.component, **({"host": source.host} if source.host else {})},
    }
