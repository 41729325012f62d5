"""Settings of the local broker, from TMC_BROKER_* environment variables (the worker's own
Kafka settings are ``TMC_KAFKA__*``: a prefix that differed by one underscore misled)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path.home() / ".cache" / "tmc-recovery" / "kafka"


class LocalKafkaSettings(BaseSettings):
    """Where the jars and the broker's files live, and how it is started.

    Ports of 0 mean "pick a free loopback port" at start.
    """

    model_config = SettingsConfigDict(env_prefix="TMC_BROKER_", extra="forbid")

    version: str = Field(default="4.1.2", pattern=r"^\d+\.\d+\.\d+$")
    home: Path = Field(default_factory=_default_home)
    run_dir: Path | None = None
    java: str = "java"
    mvn: str = "mvn"
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    controller_port: int = Field(default=0, ge=0, le=65535)
    heap_mb: int = Field(default=512, ge=256, le=8192)
    #: JVM flags besides the heap, split on spaces: a broker's defaults (G1, short pauses).
    jvm_options: str = "-XX:+UseG1GC -XX:MaxGCPauseMillis=20"
    ready_timeout_s: float = Field(default=60.0, gt=0)
    stop_timeout_s: float = Field(default=30.0, gt=0)

    @property
    def lib_dir(self) -> Path:
        return self.home / f"lib-{self.version}"

    @property
    def state_dir(self) -> Path:
        return self.run_dir if self.run_dir is not None else self.home / "run"
