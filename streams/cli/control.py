"""`tmc-recovery pause --reason | resume | shadow NAME on|off`: the operators' switches, flipped
through any worker's API with an operator's token (env TMC_API_TOKEN); every worker applies a
flip within seconds (streams/control/)."""

import os
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import quote

import typer

from streams.cli.api_client import TOKEN_ENV, api_url, post
from streams.cli.output import Json, console, print_json
from streams.cli.queries import Api


class OnOff(StrEnum):
    on = "on"
    off = "off"


def _flip(api: str | None, path: str, body: dict[str, Any], as_json: bool) -> None:
    answer = post(api_url(api), path, body, os.environ.get(TOKEN_ENV))
    if as_json:
        print_json(answer)
    else:
        console.print(f"{answer['command']} by {answer['by']} sent ({answer['reason'] or '-'})")


def pause(
    reason: Annotated[str, typer.Option(help="Why: shown on every held recovery and audited.")],
    api: Api = None,
    as_json: Json = False,
) -> None:
    """Stop every new action fleet-wide (errors are still triaged; recoveries wait)."""
    _flip(api, "/pause", {"reason": reason}, as_json)


def resume(
    reason: Annotated[str, typer.Option(help="Why (audited).")] = "",
    api: Api = None,
    as_json: Json = False,
) -> None:
    """End the pause: held recoveries run."""
    _flip(api, "/resume", {"reason": reason}, as_json)


def shadow(
    name: Annotated[str, typer.Argument(help="The strategy, e.g. ClusterConnectivity.")],
    state: Annotated[OnOff, typer.Argument(help="on: plan and report, never act.")],
    reason: Annotated[str, typer.Option(help="Why (audited).")] = "",
    api: Api = None,
    as_json: Json = False,
) -> None:
    """Switch a strategy's shadow mode: it plans and reports as dry-run does, but does not act."""
    body = {"on": state is OnOff.on, "reason": reason}
    _flip(api, f"/strategies/{quote(name, safe='')}/shadow", body, as_json)
