"""Readiness of a Kafka broker, by a real metadata round trip."""

import asyncio
import logging

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError


async def metadata_round_trip(bootstrap: str, timeout_s: float = 5.0) -> int:
    """The number of brokers the cluster reports; raises when it cannot answer."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000))
    try:
        await asyncio.wait_for(client.bootstrap(), timeout_s)
        return len(client.cluster.brokers())
    finally:
        await client.close()


def is_ready(bootstrap: str, timeout_s: float = 5.0) -> bool:
    """One probe; aiokafka's "Unable connect" errors are expected here, so muted."""
    client_log = logging.getLogger("aiokafka")
    level = client_log.level
    client_log.setLevel(logging.CRITICAL)
    try:
        return asyncio.run(metadata_round_trip(bootstrap, timeout_s)) > 0
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        client_log.setLevel(level)
