"""`tmc-recovery worker`: run one recovery worker (scale out by starting more)."""

import asyncio
import logging
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer

from strategies.adapters.fleet import load_fleet
from strategies.adapters.http_gateway import HttpClusterGateway
from streams.cli.membership import check_instance_id_free
from streams.cli.strategies import worker_strategies
from streams.config import ServiceSettings, load_service_settings
from streams.datadir import TableStores, held
from streams.pipeline import RecoveryService, run
from streams.quiet_logs import muted
from streams.settings_loader import ConfigError
from streams.topics import TopicSpec, ensure_topics, topic_plan

LOG_FORMAT = "[%(asctime)s] [%(process)s] [%(levelname)s]: %(message)s"

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
    return RecoveryService(
        settings, worker_strategies(gateway), on_stop=[gateway.aclose], gateway=gateway
    )


async def prepare(
    settings: ServiceSettings, plan: list[TopicSpec], stores: TableStores | None
) -> list[str]:
    """Before joining the group: topics created or verified, the instance id (if any) free,
    the tables' stores (if persistent) matching their changelogs."""
    created = await ensure_topics(
        settings.kafka.bootstrap_servers, plan, settings.topics.replication_factor
    )
    await check_instance_id_free(settings.kafka)
    if stores is not None:
        await stores.prepare()
    return created


def worker(
    config: ConfigFile = None,
    instance_id: Annotated[
        str | None,
        typer.Option(
            help="Static group membership under this id, unique per worker and stable across "
            "its restarts (e.g. the StatefulSet pod name): a restart gets its partitions "
            "back at once (env TMC_KAFKA__INSTANCE_ID).",
        ),
    ] = None,
    ready_file: Annotated[
        Path | None,
        typer.Option(
            help="Written once the worker serves its partitions, removed when it stops, "
            "for a readiness probe (env TMC_READY_FILE).",
        ),
    ] = None,
    loglevel: Annotated[str, typer.Option(help="Log level.")] = "info",
) -> None:
    """Create or verify the topics, then consume until SIGTERM."""
    overrides: dict[str, Any] = {}
    if instance_id is not None:
        overrides["kafka"] = {"instance_id": instance_id}
    if ready_file is not None:
        overrides["ready_file"] = ready_file
    settings = load_service_settings(config, **overrides)
    # Faust sets logging up when it starts; the steps before it (topics, the data dir) log
    # in the same shape, where an operator sees why tables were wiped.
    logging.basicConfig(level=loglevel.upper(), format=LOG_FORMAT)
    with held(settings.data_dir):  # one worker per data dir, until this process ends
        service = build_service(settings)
        stores = TableStores(service.app, settings) if settings.store == "rocksdb" else None
        plan = topic_plan(settings.topics, service.strategies.names())
        with muted("aiokafka"):  # an unreachable broker is reported as one line
            created = asyncio.run(prepare(settings, plan, stores))
        logging.getLogger(__name__).info("topics ready (%d created)", len(created))
        with stores.in_use() if stores is not None else nullcontext():
            run(service, loglevel)
