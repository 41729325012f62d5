"""`tmc-recovery config show | apply FILE`: the configuration workers act on, and changing it
on running workers without a restart (streams/runtime_config/).

Both read the worker's own file and TMC_* variables (``--config``) for the broker and the
config topic, and check against the strategies a worker here would run (built-ins plus the
installed plugins), so ``apply`` refuses locally what a worker would refuse.
"""

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import yaml
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from schemas.errors import TmcRecoveryError
from strategies.base import RecoveryStrategy
from streams.cli.connect import Connection
from streams.cli.output import console, print_json
from streams.cli.strategies import NoFleet, worker_strategies
from streams.cli.topics import Bootstrap, ConfigFile, Json
from streams.quiet_logs import muted
from streams.runtime_config.follower import ConfigFollower
from streams.runtime_config.record import KEY, Applied
from streams.runtime_config.resolve import resolve
from streams.runtime_config.show import effective_view
from streams.settings_loader import ConfigError

T = TypeVar("T")


class ConfigTopicError(TmcRecoveryError):
    """The config topic could not be read or written."""


app = typer.Typer(
    help="Show the effective configuration, or apply one to every running worker.",
    no_args_is_help=True,
)


@app.command()
def apply(
    file: Annotated[
        Path, typer.Argument(help="YAML: execution, strategies, recoveryManager, strategyConfigs.")
    ],
    config: ConfigFile = None,
    bootstrap: Bootstrap = None,
    as_json: Json = False,
) -> None:
    """Validate FILE and put it in force on every worker within seconds (it replaces the
    tunable sections whole: what FILE leaves out takes its default)."""
    link = Connection(config, bootstrap)
    applied = Applied(_document(file))
    effective = resolve(applied.tunables(), _strategies())
    _on_kafka(link, _publish(link, applied))
    enabled = sorted(name for name, knobs in effective.strategies.items() if knobs.enabled)
    if as_json:
        print_json({"applied": {"by": applied.by, "at": applied.at}, "enabled": enabled})
    else:
        console.print(f"applied by {applied.by} at {applied.at}; enabled: {', '.join(enabled)}")


@app.command()
def show(config: ConfigFile = None, bootstrap: Bootstrap = None, as_json: Json = False) -> None:
    """The configuration in force (file, environment, last apply), secrets masked."""
    link = Connection(config, bootstrap)
    strategies = _strategies()
    follower = ConfigFollower(
        link.bootstrap, link.topic("runtime_config"), link.settings.topics.partitions,
        lambda tunables: resolve(tunables, strategies),
    )  # fmt: skip
    _on_kafka(link, follower.read_once())
    applied = follower.in_force
    tunables = link.settings if applied is None else applied.tunables()
    view = effective_view(link.settings, resolve(tunables, strategies), applied)
    if as_json:
        print_json(view)
    else:
        console.print(yaml.safe_dump(view, sort_keys=False), end="", markup=False)


def _on_kafka(link: Connection, work: Coroutine[Any, Any, T]) -> T:
    try:
        with muted("aiokafka"):
            return asyncio.run(work)
    except (KafkaError, OSError) as exc:
        raise ConfigTopicError(f"the config topic on {link.bootstrap}: {exc}") from None


def _strategies() -> list[RecoveryStrategy]:
    return worker_strategies(NoFleet())


def _document(file: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(file.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"bad configuration: cannot read {file}: {exc}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"bad configuration: {file} is not a YAML mapping of sections")
    return document


async def _publish(link: Connection, applied: Applied) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=link.bootstrap, acks="all")
    try:
        await producer.start()
        await producer.send_and_wait(link.topic("runtime_config"), applied.value(), key=KEY)
    finally:
        await producer.stop()
