"""Pure generation of the broker's identity and configuration files."""

import base64
import uuid
from dataclasses import dataclass
from pathlib import Path


def new_cluster_id() -> str:
    """A KRaft cluster id: base64url, unpadded, of 16 random bytes, never starting with '-'.

    A leading '-' would be parsed as an option by the storage tool.
    """
    while True:
        raw = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not raw.startswith("-"):
            return raw


@dataclass(frozen=True)
class BrokerLayout:
    """The ports and directories one broker instance uses."""

    host: str
    port: int
    controller_port: int
    data_dir: Path
    logs_dir: Path

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"


def server_properties(layout: BrokerLayout) -> dict[str, str]:
    """A single-node broker+controller on loopback, sized for a laptop and CI.

    Auto-creation is off: the service creates its topics explicitly, with the
    partition counts co-partitioning needs.
    """
    h = layout.host
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"{h}:{layout.controller_port}",
        "listeners": f"PLAINTEXT://{h}:{layout.port},CONTROLLER://{h}:{layout.controller_port}",
        "advertised.listeners": f"PLAINTEXT://{h}:{layout.port}",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(layout.data_dir),
        "num.partitions": "1",
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "8",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "8",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
        "log.segment.bytes": str(64 * 1024 * 1024),
    }


def render_properties(props: dict[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in props.items())


def parse_properties(text: str) -> dict[str, str]:
    """Parse the simple key=value subset Kafka writes (meta.properties)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"not a key=value line: {line[:80]!r}")
        out[key.strip()] = value.strip()
    return out


def log4j2_properties(log_file: Path) -> str:
    """INFO to one rolling file; without a config log4j prints only ERROR lines."""
    return (
        "status = warn\n"
        "appender.file.type = RollingFile\n"
        "appender.file.name = file\n"
        f"appender.file.fileName = {log_file}\n"
        f"appender.file.filePattern = {log_file}.%i\n"
        "appender.file.layout.type = PatternLayout\n"
        "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
        "appender.file.policies.type = Policies\n"
        "appender.file.policies.size.type = SizeBasedTriggeringPolicy\n"
        "appender.file.policies.size.size = 20MB\n"
        "appender.file.strategy.type = DefaultRolloverStrategy\n"
        "appender.file.strategy.max = 3\n"
        "rootLogger.level = INFO\n"
        "rootLogger.appenderRef.file.ref = file\n"
        "logger.kafka.name = kafka\n"
        "logger.kafka.level = INFO\n"
        "logger.controller.name = state.change.logger\n"
        "logger.controller.level = WARN\n"
    )
