"""Where a test session's or a benchmark's real Kafka broker comes from.

In order: ``KAFKA_BOOTSTRAP_SERVERS`` when set; a testcontainers apache/kafka when a
Docker engine answers; else the project's own local broker (streams/broker). There is
no fallback to "skip": a test that needs Kafka and cannot get one fails with the reason.
"""

import os
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from streams.broker.launcher import LocalKafka
from streams.broker.settings import LocalKafkaSettings
from streams.settings_loader import load_settings

KAFKA_IMAGE = f"apache/kafka:{LocalKafkaSettings().version}"


@dataclass
class ProvidedBroker:
    """A broker for the session and how to release it."""

    bootstrap: str
    source: str
    ready_seconds: float | None
    stop: Callable[[], object]


class BrokerUnavailable(RuntimeError):
    """No broker could be had; the message says why."""


def docker_engine_available() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def container_broker() -> ProvidedBroker:
    """apache/kafka in KRaft mode, advertised on a fixed host port so clients can reach it."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    port = _free_port()
    container = (
        DockerContainer(KAFKA_IMAGE)
        .with_bind_ports(9092, port)
        .with_env("KAFKA_NODE_ID", "1")
        .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
        .with_env("KAFKA_LISTENERS", "PLAINTEXT://:9092,CONTROLLER://:9093")
        .with_env("KAFKA_ADVERTISED_LISTENERS", f"PLAINTEXT://127.0.0.1:{port}")
        .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        .with_env(
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
        )
        .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
        .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
    )
    container.start()
    wait_for_logs(container, "Kafka Server started", timeout=120)
    return ProvidedBroker(
        f"127.0.0.1:{port}", f"testcontainers {KAFKA_IMAGE}", None, container.stop
    )


#: A test session's broker: the client JIT only (C2 compiles cost more CPU than a short
#: session earns back: half the broker's CPU over a test run) and the serial collector.
#: Benchmarks keep the broker's defaults, since they measure throughput beside it.
TEST_JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def local_broker(jvm_options: str | None = None) -> ProvidedBroker:
    """The project's local broker in a throwaway state dir, stopped by its pid.

    ``jvm_options`` replaces the configured ones unless TMC_BROKER_JVM_OPTIONS is set.
    """
    run_dir = Path(tempfile.mkdtemp(prefix="tmc-kafka-"))
    chosen = {}
    if jvm_options is not None and "TMC_BROKER_JVM_OPTIONS" not in os.environ:
        chosen["jvm_options"] = jvm_options
    broker = LocalKafka(load_settings(LocalKafkaSettings, run_dir=run_dir, **chosen))
    state = broker.up()
    return ProvidedBroker(
        state.bootstrap,
        f"local Kafka {broker.settings.version} (pid {state.pid}, log {state.log_file})",
        state.ready_seconds,
        lambda: broker.down(wipe=True),
    )


def provide_broker(jvm_options: str | None = None) -> ProvidedBroker:
    """A broker, or BrokerUnavailable naming what went wrong (``jvm_options``: local_broker)."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        return ProvidedBroker(configured, "KAFKA_BOOTSTRAP_SERVERS", None, lambda: None)
    try:
        if docker_engine_available():
            return container_broker()
        return local_broker(jvm_options)
    except Exception as exc:
        raise BrokerUnavailable(
            f"no Kafka broker for the tests: {type(exc).__name__}: {exc}"
        ) from exc
