"""Where the CLI's Kafka commands (emit, watch, dlq) connect: the worker's own configuration.

They read the same file and TMC_* variables as a worker, so they find its bootstrap servers and
its topic names (a renamed or prefixed topic included) without flags of their own.
"""

from pathlib import Path
from typing import Any

from streams.config import ServiceSettings, load_service_settings
from streams.topology import TOPOLOGY


class Connection:
    """The bootstrap servers and topic names of one worker configuration."""

    def __init__(self, config: Path | None, bootstrap: str | None) -> None:
        overrides: dict[str, Any] = {}
        if bootstrap is not None:
            overrides["kafka"] = {"bootstrap_servers": bootstrap}
        self.settings: ServiceSettings = load_service_settings(config, **overrides)
        self.bootstrap = self.settings.kafka.bootstrap_servers

    def topic(self, entry: str) -> str:
        """The configured name of the topology's ``entry`` (``errors``, ``results``, ``dlq``)."""
        return self.settings.topics.name(TOPOLOGY.entry(entry))
