"""`tmc-recovery watch`: recovery results as they happen, straight from Kafka.

It needs no worker: it reads the public results topic with the client library's subscriber,
so it also works while every worker is down or rebalancing, which is when people watch.
"""

import asyncio
from collections.abc import AsyncGenerator
from typing import Annotated

import typer
from rich.live import Live
from rich.table import Table

from schemas.records import RecoveryResult, RecoveryState
from streams.api.views import row_view
from streams.cli.connect import Connection
from streams.cli.emit import transition_line
from streams.cli.output import console, print_json
from streams.cli.topics import Bootstrap, ConfigFile
from streams.clients import ResultSubscriber
from streams.quiet_logs import muted

ROWS = 30  # the live table keeps the recoveries changed last


def watch(
    cluster: Annotated[list[str] | None, typer.Option(help="Only these clusters'.")] = None,
    logical_cluster: Annotated[list[str] | None, typer.Option(help="Only these.")] = None,
    strategy: Annotated[list[str] | None, typer.Option(help="Only these strategies'.")] = None,
    state: Annotated[list[RecoveryState] | None, typer.Option(help="Only these states.")] = None,
    recovery_id: Annotated[list[str] | None, typer.Option(help="Only these recoveries.")] = None,
    event_id: Annotated[
        list[str] | None, typer.Option(help="Only recoveries these events started.")
    ] = None,
    from_beginning: Annotated[
        bool, typer.Option(help="Start at the oldest retained result, not at the next one.")
    ] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Stop after this many results.")] = None,
    config: ConfigFile = None,
    bootstrap: Bootstrap = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON line per result (the API's row shape).")
    ] = False,
) -> None:
    """A live table of recovery results with filters; --json prints one line per result."""
    link = Connection(config, bootstrap)
    subscriber = ResultSubscriber(
        link.bootstrap,
        topic=link.topic("results"),
        from_beginning=from_beginning,
        clusters=cluster or (),
        logical_clusters=logical_cluster or (),
        strategies=strategy or (),
        states=state or (),
        recovery_ids=recovery_id or (),
        event_ids=event_id or (),
    )
    asyncio.run(_watch(subscriber, limit, as_json))


async def _watch(subscriber: ResultSubscriber, limit: int | None, as_json: bool) -> None:
    with muted("aiokafka"):
        async with subscriber:
            if as_json:
                async for result in _taken(subscriber, limit):
                    print_json(row_view(result))
                return
            latest: dict[str, RecoveryResult] = {}
            with Live(_table(latest, subscriber.topic), console=console) as live:
                async for result in _taken(subscriber, limit):
                    latest.pop(result.id, None)  # to the end: the table keeps the latest last
                    latest[result.id] = result
                    live.update(_table(latest, subscriber.topic))


async def _taken(results: ResultSubscriber, limit: int | None) -> AsyncGenerator[RecoveryResult]:
    count = 0
    async for result in results:
        yield result
        count += 1
        if count == limit:
            return


def _table(latest: dict[str, RecoveryResult], topic: str) -> Table:
    table = Table(title=f"{topic} (live; Ctrl-C ends)", title_justify="left")
    for column in ("cluster", "strategy", "latest step"):
        table.add_column(column)
    for result in list(latest.values())[-ROWS:]:
        table.add_row(result.context.cluster_name or "", result.strategy, transition_line(result))
    return table
