"""`tmc-recovery topics create|verify`: the worker's topics, for producers that start first.

The plan and the creation are the worker's own (streams/topics.py, from the spec in
streams/topology.py), from the same configuration (file plus TMC_* variables), so a topic
created here is exactly the topic a worker would create: same names, partitions, cleanup
policy and retention. ``--json`` also says what each topic is for and whether it is public.
"""

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from strategies.registry import StrategyRegistry
from streams.cli.output import console, emit
from streams.cli.strategies import NoFleet, worker_strategies
from streams.config import ServiceSettings, load_service_settings
from streams.quiet_logs import muted
from streams.topics import TopicSpec, ensure_topics, topic_plan

app = typer.Typer(help="Create or verify the service's topics before any worker starts.")

ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="YAML config file (TMC_* environment variables override it)."
    ),
]
Bootstrap = Annotated[
    str | None,
    typer.Option(help="Kafka bootstrap servers (env TMC_KAFKA__BOOTSTRAP_SERVERS)."),
]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def worker_plan(settings: ServiceSettings) -> list[TopicSpec]:
    """The topics a worker with ``settings`` reads and writes (its strategies' included)."""
    registry = StrategyRegistry(worker_strategies(NoFleet()), settings.strategies)
    return topic_plan(settings.topics, registry.names())


def _apply(config: Path | None, bootstrap: str | None, create: bool) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if bootstrap is not None:
        overrides["kafka"] = {"bootstrap_servers": bootstrap}
    settings = load_service_settings(config, **overrides)
    plan = worker_plan(settings)
    server = settings.kafka.bootstrap_servers
    with muted("aiokafka"), console.status(f"checking {len(plan)} topics on {server}…"):
        created = asyncio.run(
            ensure_topics(server, plan, settings.topics.replication_factor, create=create)
        )
    return {
        "bootstrap_servers": server,
        "created": created,
        "topics": {
            spec.name: {
                "partitions": spec.partitions,
                "cleanup_policy": spec.cleanup_policy,
                "public": spec.entry.public,
                "purpose": spec.entry.purpose,
            }
            for spec in plan
        },
    }


@app.command()
def create(config: ConfigFile = None, bootstrap: Bootstrap = None, as_json: Json = False) -> None:
    """Create the missing topics, then verify all of them (partitions, cleanup policy)."""
    result = _apply(config, bootstrap, create=True)
    shown = {
        "bootstrap": result["bootstrap_servers"],
        "created": ", ".join(result["created"]) or "none",
        "verified": len(result["topics"]),
    }
    emit(result if as_json else shown, as_json, "topics ready")


@app.command()
def verify(config: ConfigFile = None, bootstrap: Bootstrap = None, as_json: Json = False) -> None:
    """Check that every topic exists with its partitions and cleanup policy; create nothing."""
    result = _apply(config, bootstrap, create=False)
    del result["created"]
    shown = {"bootstrap": result["bootstrap_servers"], "verified": len(result["topics"])}
    emit(result if as_json else shown, as_json, "topics verified")
