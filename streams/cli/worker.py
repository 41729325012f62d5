"""`tmc-recovery worker`: run one recovery worker (scale out by starting more)."""

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

from strategies.adapters.fleet import load_fleet
from strategies.adapters.http_gateway import HttpClusterGateway
from strategies.base import RecoveryStrategy
from strategies.builtin import ClusterConnectivityRecovery
from strategies.registry import plugin_strategies
from streams.config import ServiceSettings, load_service_settings
from streams.quiet_logs import muted
from streams.service import RecoveryService, run
from streams.settings_loader import ConfigError
from streams.topics import ensure_topics, topic_plan

ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="YAML config file (TMC_* environment variables override it)."
    ),
]


def build_service(settings: ServiceSettings) -> RecoveryService:
    """The service with the built-in strategies (acting through the fleet's API servers)
    plus custom strategies from entry points."""
    if settings.fleet_file is None:
        raise ConfigError(
            "bad configuration: fleet_file (env TMC_FLEET_FILE) is required: "
            "strategies act on the clusters it lists"
        )
    gateway = HttpClusterGateway(load_fleet(settings.fleet_file))

    def with_gateway(factory: object) -> RecoveryStrategy:
        if not callable(factory):
            raise TypeError("a strategy plugin must be a class or factory taking the gateway")
        strategy: RecoveryStrategy = factory(gateway)
        return strategy

    strategies: list[RecoveryStrategy] = [
        ClusterConnectivityRecovery(gateway),
        *plugin_strategies(with_gateway),
    ]
    return RecoveryService(settings, strategies, on_stop=[gateway.aclose])


def worker(
    config: ConfigFile = None,
    loglevel: Annotated[str, typer.Option(help="Log level.")] = "info",
) -> None:
    """Create or verify the topics, then consume until SIGTERM."""
    settings = load_service_settings(config)
    service = build_service(settings)
    plan = topic_plan(settings.topics, service.registry.names())
    with muted("aiokafka"):  # an unreachable broker is reported as one TopicError line
        created = asyncio.run(
            ensure_topics(
                settings.kafka.bootstrap_servers, plan, settings.topics.replication_factor
            )
        )
    logging.getLogger(__name__).info("topics ready (%d created)", len(created))
    run(service, loglevel)
