"""Publishing TMC errors to Kafka from Python components.

Idempotent producer, keyed by cluster (or component), short linger to batch bursts. Every wait
is bounded by the delivery timeout, so a component never hangs on an unreachable broker.

aiokafka partitions keys with murmur2 as the Java client does, so each error lands on its
cluster's partition. A producer in another client must be configured to match, or every
misplaced error costs the worker a detour through the triage topic: librdkafka (confluent-kafka
in any language) needs ``partitioner=murmur2_random``. :mod:`streams.clients.partitioning` has
the setting for each client.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import uuid
from typing import Self

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from schemas.codec import (
    EncodeError,
    Framing,
    RecordCodec,
    SchemaRegistryClient,
    SchemaRegistryError,
)
from schemas.records import EmitterIdentity, TMCError
from streams.clients.errors import EmitError
from streams.topology import TOPOLOGY

DEFAULT_ERRORS_TOPIC = TOPOLOGY.entry("errors").default


def default_identity(name: str) -> EmitterIdentity:
    """``name`` running on this host and process."""
    return EmitterIdentity(name=name, instance=f"{socket.gethostname()}:{os.getpid()}")


class ErrorEmitter:
    """``async with ErrorEmitter(bootstrap, name="syncer") as e: await e.emit(error)``.

    Records are keyed by :meth:`TMCError.kafka_key` and partitioned with murmur2 (Java's
    default), the partition the worker expects for the key. ``emit`` fails with
    :class:`EmitError` while the topic does not exist: the worker creates it at start.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        name: str = "tmc-emitter",
        topic: str = DEFAULT_ERRORS_TOPIC,
        identity: EmitterIdentity | None = None,
        framing: Framing = Framing.SINGLE_OBJECT,
        registry: SchemaRegistryClient | None = None,
        linger_ms: int = 5,
        delivery_timeout: float = 10.0,
    ) -> None:
        """With Confluent framing the schema is registered under ``<topic>-value``, the
        subject Confluent's own serializers use by default."""
        self.topic = topic
        self.identity = identity or default_identity(name)
        self._bootstrap = bootstrap_servers
        self._timeout = delivery_timeout
        self._codec = RecordCodec(
            TMCError, framing=framing, registry=registry, subject=f"{topic}-value"
        )
        self._linger_ms = linger_ms
        self._producer: AIOKafkaProducer | None = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Connect to Kafka, and with Confluent framing register the schema, within the timeout."""
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=self.identity.name,
            enable_idempotence=True,
            acks="all",
            linger_ms=self._linger_ms,
            request_timeout_ms=max(1000, int(self._timeout * 1000)),
        )
        try:
            async with asyncio.timeout(self._timeout):
                await producer.start()
                await asyncio.to_thread(self._codec.avro.prepare)
        except (TimeoutError, KafkaError, OSError, SchemaRegistryError) as exc:
            await producer.stop()
            raise EmitError(f"cannot start emitting to {self._bootstrap}: {exc!r}") from exc
        self._producer = producer

    async def stop(self) -> None:
        """Flush what is pending (bounded by the timeout) and disconnect."""
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            async with asyncio.timeout(self._timeout):
                await producer.flush()
        except (TimeoutError, KafkaError):
            pass  # emit() already reported each unconfirmed send to its caller
        finally:
            await producer.stop()

    async def emit(self, error: TMCError) -> str:
        """Send ``error`` and wait until Kafka has it; returns its event id.

        A missing event id and emitter identity are filled in. A custom error type
        (``TMCError.build("CustomApplication", ...)``) travels in ``custom_type``; one that
        breaks its rule, which the worker would dead-letter, is refused here. Raises
        :class:`EmitError` for that, and when the record is not acknowledged within the
        delivery timeout.
        """
        if self._producer is None:
            raise EmitError("the emitter is not started: use it in 'async with'")
        event_id = error.event_id or str(uuid.uuid4())
        problem = error.custom_type_problem()
        if problem is not None:
            raise EmitError(f"event {event_id} not sent: {problem}", event_id)
        stamped = dataclasses.replace(
            error, event_id=event_id, emitter=error.emitter or self.identity
        )
        try:
            value = self._codec.encode(stamped)
        except EncodeError as exc:
            raise EmitError(str(exc), event_id) from exc
        try:
            async with asyncio.timeout(self._timeout):
                delivery = await self._producer.send(self.topic, value, key=stamped.kafka_key())
                await delivery
        except (TimeoutError, KafkaError) as exc:
            raise EmitError(
                f"{self.topic}: event {event_id} not confirmed within {self._timeout:g} s: {exc!r}",
                event_id,
            ) from exc
        return event_id
