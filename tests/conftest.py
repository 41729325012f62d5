"""Session-wide real Kafka broker and fresh topics per test.

Under pytest-xdist (``make test`` runs several workers) the controller starts the one
broker and hands it to its workers through ``KAFKA_BOOTSTRAP_SERVERS``: every test makes
its own topics and groups, so they share it as they would share a configured one.
"""

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.testing.brokers import (
    TEST_JVM_OPTIONS,
    BrokerUnavailable,
    ProvidedBroker,
    provide_broker,
)
from streams.testing.harness import create_topics

pytest_plugins = ["tests.kube.plugin"]

_session_broker: list[ProvidedBroker] = []

TopicFactory = Callable[..., str]


def _is_xdist_controller(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if not _is_xdist_controller(config) or os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return
    try:
        broker = provide_broker(TEST_JVM_OPTIONS)
    except BrokerUnavailable:
        return  # each worker tries again, and its tests fail with the reason
    _session_broker.append(broker)
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap


def pytest_unconfigure(config: pytest.Config) -> None:
    if _is_xdist_controller(config):
        for broker in _session_broker:
            broker.stop()


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[ProvidedBroker]:
    try:
        broker = provide_broker(TEST_JVM_OPTIONS)
    except BrokerUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    _session_broker.append(broker)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: ProvidedBroker) -> str:
    return kafka_broker.bootstrap


@pytest.fixture
def topic_factory(kafka_bootstrap: str, request: pytest.FixtureRequest) -> TopicFactory:
    """``topic_factory(prefix, partitions, config)`` creates a fresh, uniquely named topic."""

    def make(prefix: str = "t", partitions: int = 1, config: dict[str, str] | None = None) -> str:
        name = f"{prefix}.{request.node.name[:40]}.{uuid.uuid4().hex[:8]}"
        name = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)
        topic = NewTopic(name, partitions, 1, topic_configs=config or {})
        # A thread of its own, so async tests (with a running loop) can call it too.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, create_topics(kafka_bootstrap, [topic])).result()
        return name

    return make


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for broker in _session_broker:
        ready = (
            "" if broker.ready_seconds is None else f", start-to-ready {broker.ready_seconds:.2f} s"
        )
        terminalreporter.write_line(f"kafka: {broker.source}{ready}")


async def list_topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return list(await admin.list_topics())
    finally:
        await admin.close()
