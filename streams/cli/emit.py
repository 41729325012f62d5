"""`tmc-recovery emit`: send one TMC error, from flags or from JSON on stdin, and optionally
follow the recovery it starts or joins until it ends.

The JSON is the error as the API shows it (``recoveries show --json`` | jq .error): the Avro
record's fields in snake_case, so a recorded error can be sent again. Fields it leaves out get
the defaults of the error type, as ``TMCError.build`` gives them.
"""

import asyncio
import dataclasses
import json
import os
import sys
from datetime import datetime
from typing import Annotated, Any

import typer

from schemas.errors import TmcRecoveryError
from schemas.records import (
    BadCustomType,
    ErrorType,
    RecoveryResult,
    RecoveryState,
    Severity,
    TMCError,
    from_avro,
    to_avro,
)
from streams.api.views import row_view
from streams.cli.api_client import API_ENV
from streams.cli.connect import Connection
from streams.cli.output import console, print_json
from streams.cli.topics import Bootstrap, ConfigFile, Json
from streams.clients import ErrorEmitter, RecoveryTracker
from streams.quiet_logs import muted


class BadErrorInput(TmcRecoveryError):
    """The error given on stdin or in flags is not a valid TMC error."""


def emit(
    error_type: Annotated[
        ErrorType | None,
        typer.Option(
            "--type", metavar="TYPE", help="The error type, e.g. ClusterUnreachable (or --stdin)."
        ),
    ] = None,
    custom_type: Annotated[
        str | None,
        typer.Option(
            "--custom-type",
            metavar="NAME",
            help="A custom error type instead of --type, e.g. CustomApplication (type UNKNOWN).",
        ),
    ] = None,
    cluster: Annotated[str | None, typer.Option(help="The cluster it happened on.")] = None,
    logical_cluster: Annotated[str | None, typer.Option(help="Its logical cluster.")] = None,
    component: Annotated[str, typer.Option(help="Who saw it.")] = "tmc-recovery-cli",
    operation: Annotated[str, typer.Option(help="What it was doing.")] = "manual",
    message: Annotated[str, typer.Option(help="What went wrong.")] = "",
    severity: Annotated[Severity | None, typer.Option(help="Default: the type's.")] = None,
    context: Annotated[
        list[str] | None, typer.Option(help="KEY=VALUE, repeatable (e.g. desired=<json>).")
    ] = None,
    stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the error as one JSON object from stdin.")
    ] = False,
    follow: Annotated[
        bool,
        typer.Option(help="Wait for its recovery, print each transition; exit 0 on Completed."),
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds --follow waits for the end.")] = 600,
    api: Annotated[
        str | None,
        typer.Option(help=f"A worker's API, so --follow finds a merge (env {API_ENV})."),
    ] = None,
    config: ConfigFile = None,
    bootstrap: Bootstrap = None,
    as_json: Json = False,
) -> None:
    """Send one error to the errors topic and print its event id."""
    if stdin + (error_type is not None) + (custom_type is not None) != 1:
        raise BadErrorInput("give either --type or --stdin, or --custom-type in place of --type")
    error = (
        _from_json(sys.stdin.read())
        if stdin
        else _from_flags(
            error_type or custom_type, cluster, logical_cluster, component, operation, message
        )
    )
    if severity is not None:
        error = dataclasses.replace(error, severity=severity)
    if context:
        error = dataclasses.replace(error, context={**error.context, **_pairs(context)})
    link = Connection(config, bootstrap)
    api = api or os.environ.get(API_ENV)
    state = asyncio.run(_emit(link, error, follow, timeout, api, as_json))
    if state is not None and state is not RecoveryState.COMPLETED:
        raise typer.Exit(1)


def _from_flags(
    error_type: ErrorType | str | None,
    cluster: str | None,
    logical_cluster: str | None,
    component: str,
    operation: str,
    message: str,
) -> TMCError:
    assert error_type is not None
    try:
        builder = TMCError.build(error_type, component, operation).with_message(message)
    except BadCustomType as exc:
        raise BadErrorInput(f"--custom-type: {exc}") from exc
    if cluster is not None:
        builder.with_cluster(cluster, logical_cluster)
    return builder.build()


def _from_json(text: str) -> TMCError:
    """The error in ``text``: the API's JSON of an error, the type's defaults filling gaps."""
    try:
        given: dict[str, Any] = json.loads(text)
        base = TMCError.build(ErrorType(given["type"]), given["component"], given["operation"])
        datum = {**to_avro(base.build()), **given}
        unknown = set(given) - {f.name for f in dataclasses.fields(TMCError)}
        if unknown:
            raise BadErrorInput(f"stdin: unknown field(s) {', '.join(sorted(unknown))}")
        if isinstance(datum["timestamp"], str):
            datum["timestamp"] = datetime.fromisoformat(datum["timestamp"])
        return from_avro(TMCError, datum)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadErrorInput(
            f"stdin: not a TMC error in JSON ({type(exc).__name__}: {exc})"
        ) from exc


def _pairs(items: list[str]) -> dict[str, str]:
    pairs = dict(item.partition("=")[::2] for item in items)
    if any(not key for key in pairs) or any("=" not in item for item in items):
        raise BadErrorInput(f"--context takes KEY=VALUE, got {items}")
    return pairs


async def _emit(
    link: Connection,
    error: TMCError,
    follow: bool,
    within_s: float,
    api: str | None,
    as_json: bool,
) -> RecoveryState | None:
    """Send ``error``; with ``follow``, print each transition and return the terminal state."""
    tracker = RecoveryTracker(link.bootstrap, api=api, topic=link.topic("results"))
    with muted("aiokafka"):
        async with tracker, ErrorEmitter(link.bootstrap, topic=link.topic("errors")) as emitter:
            event_id = await emitter.emit(error)
            key = error.kafka_key().decode()
            if as_json:
                print_json({"event_id": event_id, "cluster": key, "topic": emitter.topic})
            else:
                shown = f"{error.type_name} on {key}"
                console.print(f"emitted {event_id} ({shown}) to {emitter.topic}")
            if not follow:
                return None
            return await _follow(tracker, event_id, key, within_s, as_json)


async def _follow(
    tracker: RecoveryTracker, event_id: str, key: str, within_s: float, as_json: bool
) -> RecoveryState:
    """Print each record of the event's recovery as it comes; the terminal state."""
    state = RecoveryState.UNKNOWN
    with console.status(f"waiting for the recovery of {event_id}…") as progress:
        async for result in tracker.follow(event_id, key, within_s=within_s):
            state = result.state
            if as_json:
                print_json(row_view(result))
            else:
                console.print(transition_line(result))
            progress.update(f"{result.id} is {state}, waiting for its end…")
    return state


def transition_line(result: RecoveryResult) -> str:
    """``<time> <id> <state> (attempt n/m): <why>``, the latest step of a recovery."""
    step = result.transitions[-1] if result.transitions else None
    at = (step.at if step else result.start_time).isoformat(timespec="seconds")
    why = (step and step.reason) or (result.result and result.result.message) or ""
    attempts = f"attempt {result.context.attempt}/{result.context.max_attempts}"
    return f"{at} {result.id} {result.state} ({attempts})" + (f": {why}" if why else "")
