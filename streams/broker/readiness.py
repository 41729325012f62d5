"""Readiness of a Kafka broker, by a real metadata round trip."""

import asyncio

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError

from streams.quiet_logs import muted


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
    try:
        with muted("aiokafka"):
            return asyncio.run(metadata_round_trip(bootstrap, timeout_s)) > 0
    except (KafkaError, OSError, TimeoutError):
        return False
