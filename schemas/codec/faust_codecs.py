"""Faust codecs, so topics and tables can say ``value_serializer="tmc-error"``.

Faust codecs are synchronous and looked up by name, so the app registers them once at start,
with the registry it uses to decode Confluent-framed messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.serializers import codecs

from schemas.codec.framing import Framing
from schemas.codec.records import RecordCodec
from schemas.codec.registry import SchemaRegistryClient
from schemas.records import (
    ClusterStatus,
    HealthReport,
    RecoveryEvent,
    RecoveryResult,
    Silence,
    TMCError,
)

CODEC_NAMES: Mapping[type[Any], str] = {
    TMCError: "tmc-error",
    RecoveryResult: "tmc-recovery-result",
    ClusterStatus: "tmc-cluster-status",
    RecoveryEvent: "tmc-recovery-event",
    HealthReport: "tmc-health-report",
    Silence: "tmc-silence",
}


class FaustRecordCodec(codecs.Codec):
    """Adapts a :class:`RecordCodec` to Faust: dumps a record (or its Avro dict), loads a record."""

    def __init__(self, record_codec: RecordCodec[Any], **kwargs: Any) -> None:
        super().__init__(record_codec=record_codec, **kwargs)
        self._codec = record_codec

    def _dumps(self, obj: Any) -> bytes:
        if isinstance(obj, Mapping):
            return self._codec.avro.encode(obj)
        return self._codec.encode(obj)

    def _loads(self, s: bytes) -> Any:
        return self._codec.decode(s)


def register_faust_codecs(
    *, framing: Framing = Framing.SINGLE_OBJECT, registry: SchemaRegistryClient | None = None
) -> None:
    """Register one codec per record type under the names in :data:`CODEC_NAMES`."""
    for record_type, name in CODEC_NAMES.items():
        codec = RecordCodec(record_type, framing=framing, registry=registry)
        codecs.register(name, FaustRecordCodec(codec))
