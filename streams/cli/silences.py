"""`tmc-recovery silence add|list|expire`: silences through any worker's API, changes with an
operator's token (env TMC_API_TOKEN); every worker applies one within seconds
(streams/silences/)."""

import os
import re
from typing import Annotated, Any
from urllib.parse import quote

import typer

from schemas.errors import TmcRecoveryError
from streams.cli.api_client import TOKEN_ENV, api_url, get, post
from streams.cli.output import Json, console, print_json
from streams.cli.queries import Api, _table

app = typer.Typer(
    help="Silence recoveries by cluster, logical cluster, strategy, type or component."
)

_PART = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")
_UNIT_S = {"h": 3600, "m": 60, "s": 1}


class BadDuration(TmcRecoveryError):
    """A --duration that is not a Go-style duration such as 2h, 90m or 1h30m."""


def seconds(duration: str) -> float:
    """``2h``, ``90m``, ``1h30m``, ``45s`` (Go's time.ParseDuration units h, m, s) in seconds."""
    parts = _PART.findall(duration)
    total = sum(float(n) * _UNIT_S[unit] for n, unit in parts)
    if "".join(n + u for n, u in parts) != duration or total <= 0:
        raise BadDuration(f"--duration {duration!r} is not a duration such as 2h, 90m or 1h30m")
    return total


@app.command("add")
def add(
    reason: Annotated[str, typer.Option(help="Why: on every suppressed recovery, and audited.")],
    duration: Annotated[str, typer.Option(help="How long, from its start: 2h, 90m, 1h30m.")],
    cluster: Annotated[str | None, typer.Option(help="Only this cluster.")] = None,
    logical_cluster: Annotated[
        str | None, typer.Option(help="This logical cluster and those under it (root:prod).")
    ] = None,
    strategy: Annotated[str | None, typer.Option(help="Only this strategy's recoveries.")] = None,
    error_type: Annotated[
        str | None, typer.Option(help="Only this error type (or custom type).")
    ] = None,
    component: Annotated[
        str | None, typer.Option(help="Only errors this component emitted.")
    ] = None,
    starts_at: Annotated[
        str | None, typer.Option(help="ISO time it starts (default: now).")
    ] = None,
    api: Api = None,
    as_json: Json = False,
) -> None:
    """Suppress new recoveries for whatever every given matcher matches, until it expires."""
    given = {
        "cluster_name": cluster, "logical_cluster": logical_cluster, "strategy": strategy,
        "error_type": error_type, "component": component,
    }  # fmt: skip
    body: dict[str, Any] = {
        "matchers": {k: v for k, v in given.items() if v is not None},
        "reason": reason,
        "duration_s": seconds(duration),
    }
    if starts_at is not None:
        body["starts_at"] = starts_at
    answer = post(api_url(api), "/silences", body, os.environ.get(TOKEN_ENV))
    if as_json:
        print_json(answer)
    else:
        console.print(f"silence {answer['id']} {answer['status']} until {answer['expires_at']}")


@app.command("list")
def list_silences(api: Api = None, as_json: Json = False) -> None:
    """Active and pending silences, and those that ended recently."""
    answer = get(api_url(api), "/silences")
    if as_json:
        print_json(answer)
        return
    rows = [
        [
            s["id"], s["status"], " ".join(f"{k}={v}" for k, v in s["matchers"].items()),
            s["created_by"], s["reason"], s["starts_at"], s["expires_at"],
        ]
        for s in answer["silences"]
    ]  # fmt: skip
    columns = ["id", "status", "matchers", "by", "reason", "starts", "expires"]
    console.print(_table("silences", columns, rows))


@app.command("expire")
def expire(
    silence_id: Annotated[str, typer.Argument(metavar="ID", help="The silence's id.")],
    reason: Annotated[str, typer.Option(help="Why (audited).")] = "",
    api: Api = None,
    as_json: Json = False,
) -> None:
    """End a silence now: the next error it covered starts a recovery as usual."""
    path = f"/silences/{quote(silence_id, safe='')}"
    answer = post(
        api_url(api), path, {"reason": reason}, os.environ.get(TOKEN_ENV), method="DELETE"
    )
    if as_json:
        print_json(answer)
    else:
        console.print(f"silence {answer['id']} {answer['status']} since {answer['expires_at']}")
