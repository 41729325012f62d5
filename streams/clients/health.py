"""Publishing a component's health to the worker's health monitor (streams/health/).

A component reports its status whenever it checks itself; the monitor turns the first
Unhealthy report of an incident into one ComponentUnhealthy error, so reporting often is
cheap and repeating a status is harmless.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Sequence
from typing import Self

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from schemas.codec import RecordCodec
from schemas.records import HealthCheck, HealthReport, HealthStatus, utc_now
from streams.clients.errors import EmitError
from streams.health.incidents import report_key
from streams.topology import TOPOLOGY

DEFAULT_HEALTH_TOPIC = TOPOLOGY.entry("health").default


class HealthReporter:
    """``async with HealthReporter(bootstrap, "syncer", cluster_name="edge-1") as health:
    await health.report(HealthStatus.UNHEALTHY, "lost the API server")``."""

    def __init__(
        self,
        bootstrap_servers: str,
        component: str,
        *,
        cluster_name: str | None = None,
        topic: str = DEFAULT_HEALTH_TOPIC,
        delivery_timeout: float = 10.0,
    ) -> None:
        self.component, self.cluster_name, self.topic = component, cluster_name, topic
        self.instance = f"{socket.gethostname()}:{os.getpid()}"
        self._timeout = delivery_timeout
        self._codec = RecordCodec(HealthReport)
        self._bootstrap = bootstrap_servers
        self._producer: AIOKafkaProducer | None = None

    async def __aenter__(self) -> Self:
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap, client_id=self.component, acks="all"
        )
        try:
            async with asyncio.timeout(self._timeout):
                await producer.start()
        except (TimeoutError, KafkaError, OSError) as exc:
            await producer.stop()
            raise EmitError(f"cannot start reporting health to {self._bootstrap}: {exc!r}") from exc
        self._producer = producer
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def report(
        self, status: HealthStatus, message: str = "", checks: Sequence[HealthCheck] = ()
    ) -> None:
        """Send this component's status now and wait until Kafka has it (:class:`EmitError`
        past the delivery timeout)."""
        if self._producer is None:
            raise EmitError("the reporter is not started: use it in 'async with'")
        record = HealthReport(
            self.component, status, utc_now(), self.instance, self.cluster_name, message,
            tuple(checks),
        )  # fmt: skip
        try:
            async with asyncio.timeout(self._timeout):
                await self._producer.send_and_wait(
                    self.topic, self._codec.encode(record), key=report_key(record)
                )
        except (TimeoutError, KafkaError) as exc:
            raise EmitError(f"{self.topic}: health report not confirmed: {exc!r}") from exc
