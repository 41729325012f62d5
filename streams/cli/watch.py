"""`tmc-recovery watch`: recovery results and the Kubernetes Events about them as they
happen, straight from Kafka.

It needs no worker: it reads the public results topic with the client library's subscriber
and the events topic beside it (streams/cli/watch_events.py), with the same filters, so it
also works while every worker is down or rebalancing, which is when people watch.
"""

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, aclosing
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from schemas.records import RecoveryEvent, RecoveryResult, RecoveryState
from streams.api.views import row_view
from streams.cli.connect import Connection
from streams.cli.emit import transition_line
from streams.cli.output import console, print_json
from streams.cli.topics import Bootstrap, ConfigFile
from streams.cli.watch_events import Joined, event_view, read_events
from streams.clients import ResultSubscriber
from streams.events.shape import ANNOTATION
from streams.quiet_logs import muted

Record = RecoveryResult | RecoveryEvent
Source = AbstractAsyncContextManager[AsyncIterator[Record]]


class Show(StrEnum):
    ALL = "all"
    RESULTS = "results"
    EVENTS = "events"


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
        bool, typer.Option(help="Start at the oldest retained record, not at the next one.")
    ] = False,
    show: Annotated[Show, typer.Option(help="Results, Kubernetes Events, or both.")] = Show.ALL,
    limit: Annotated[int | None, typer.Option(min=1, help="Stop after this many records.")] = None,
    config: ConfigFile = None,
    bootstrap: Bootstrap = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="One JSON line per record: a result in the API's row shape, an Event in "
            "Kubernetes' (kind Event).",
        ),
    ] = False,
) -> None:
    """A live table of recovery results and the Kubernetes Events about them, with filters
    (an Event matches by its cluster, strategy, recovery and the state it marks); --json
    prints one line per record."""
    link = Connection(config, bootstrap)
    results = ResultSubscriber(
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
    events_topic = link.topic("events")
    events = read_events(
        link.bootstrap, events_topic, results.filter, from_beginning=from_beginning
    )
    joined = Joined(results.filter)
    # Events alone under a filter only results can judge still need the results read.
    read_results = show is not Show.EVENTS or joined.needed
    read_events_too = show is not Show.RESULTS
    sources: list[Source] = [results] * read_results + [events] * read_events_too
    title = " + ".join([results.topic] * read_results + [events_topic] * read_events_too)
    asyncio.run(_watch(sources, title, _Shown(joined, show), limit, as_json))


async def _watch(
    sources: list[Source], title: str, shown: "_Shown", limit: int | None, as_json: bool
) -> None:
    with muted("aiokafka"):
        async with AsyncExitStack() as stack:
            readers = [await stack.enter_async_context(source) for source in sources]
            records = _taken(shown.of(_merged(readers)), limit)
            async with aclosing(records):
                if as_json:
                    async for record in records:
                        print_json(_view(record))
                    return
                latest: dict[str, Record] = {}
                with Live(_table(latest, title), console=console) as live:
                    async for record in records:
                        key = _key(record)
                        latest.pop(key, None)  # to the end: the table keeps the latest last
                        latest[key] = record
                        live.update(_table(latest, title))


class _Shown:
    """Which records read are shown, and when (an Event held for its result, Joined)."""

    def __init__(self, joined: Joined, show: Show) -> None:
        self.joined, self.results = joined, show is not Show.EVENTS

    async def of(self, records: AsyncGenerator[Record]) -> AsyncGenerator[Record]:
        async with aclosing(records):
            async for record in records:
                if isinstance(record, RecoveryResult):
                    if self.results:
                        yield record
                    for event in self.joined.result(record):
                        yield event
                else:
                    for event in self.joined.event(record):
                        yield event


async def _merged(sources: list[AsyncIterator[Record]]) -> AsyncGenerator[Record]:
    """Every source's records as they arrive; a source's failure ends it."""
    queue: asyncio.Queue[Record | Exception] = asyncio.Queue(maxsize=1)

    async def pump(source: AsyncIterator[Record]) -> None:
        try:
            async for record in source:
                await queue.put(record)
        except Exception as exc:  # handed to the reader, which raises it
            await queue.put(exc)

    pumps = [asyncio.create_task(pump(source)) for source in sources]
    try:
        while True:
            item = await queue.get()
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        for task in pumps:
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)


async def _taken(records: AsyncGenerator[Record], limit: int | None) -> AsyncGenerator[Record]:
    count = 0
    async with aclosing(records):
        async for record in records:
            yield record
            count += 1
            if count == limit:
                return


def _view(record: Record) -> dict[str, Any]:
    return row_view(record) if isinstance(record, RecoveryResult) else event_view(record)


def _key(record: Record) -> str:
    """A result row per recovery; an Event per name (a repeat raises its count)."""
    return record.id if isinstance(record, RecoveryResult) else f"event {record.metadata.name}"


def _row(record: Record) -> tuple[str, str, str, str]:
    if isinstance(record, RecoveryResult):
        cluster = record.context.cluster_name or ""
        return "result", cluster, record.strategy, transition_line(record)
    obj, notes = record.involved_object, record.metadata.annotations
    at = record.last_timestamp.isoformat(timespec="seconds")
    times = f" x{record.count}" if record.count > 1 else ""
    what = f"{at} {record.type.value} {record.reason}{times}: {record.message}"
    return "event", obj.name, notes.get(f"{ANNOTATION}strategy", ""), what


def _table(latest: dict[str, Record], title: str) -> Table:
    table = Table(title=f"{title} (live; Ctrl-C ends)", title_justify="left")
    for column in ("record", "cluster", "strategy", "latest step"):
        table.add_column(column)
    for record in list(latest.values())[-ROWS:]:
        table.add_row(*_row(record))
    return table
