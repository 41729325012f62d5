"""`tmc-recovery status | recoveries list|show|cancel | clusters [NAME]`: the API's reads, as
tables for people and ``--json`` for scripts (the API's own JSON, unchanged), and its changes."""

import os
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.table import Table

from streams.cli.api_client import API_ENV, TOKEN_ENV, api_url, get, post
from streams.cli.output import Json, console, print_json

Api = Annotated[
    str | None,
    typer.Option("--api", help=f"Any worker's API URL (env {API_ENV}; default 127.0.0.1:6066)."),
]

recoveries_app = typer.Typer(help="List recoveries, show one with every transition, cancel one.")


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    return table


def status(api: Api = None, as_json: Json = False) -> None:
    """Fleet-wide counts and every active recovery (the Go design's /status)."""
    answer = get(api_url(api), "/status")
    if as_json:
        print_json(answer)
        return
    counts = [[name, answer[name]] for name in answer if name != "activeRecoveryDetails"]
    console.print(_table("recovery status (fleet)", ["", "count"], counts))
    details = answer["activeRecoveryDetails"]
    rows = [[d["id"], d["errorType"], d["state"], d["duration"]] for d in details]
    console.print(_table("active recoveries", ["id", "error type", "state", "for"], rows))


@recoveries_app.command("list")
def list_recoveries(
    api: Api = None,
    cluster: Annotated[str | None, typer.Option(help="Only this cluster's.")] = None,
    logical_cluster: Annotated[
        str | None, typer.Option(help="Only this logical cluster's.")
    ] = None,
    strategy: Annotated[str | None, typer.Option(help="Only this strategy's.")] = None,
    state: Annotated[str | None, typer.Option(help="Only in this state, e.g. Escalated.")] = None,
    error_type: Annotated[str | None, typer.Option(help="Only for this error type.")] = None,
    event_id: Annotated[
        str | None, typer.Option(help="The one this event started or joined.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Started at or after (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Rows per page.")] = 100,
    cursor: Annotated[str | None, typer.Option(help="The page after this cursor.")] = None,
    as_json: Json = False,
) -> None:
    """One page of recoveries in (cluster, id) order; the next page's cursor is printed."""
    params = {
        "cluster": cluster, "logical_cluster": logical_cluster, "strategy": strategy,
        "state": state, "error_type": error_type, "event_id": event_id, "since": since,
        "limit": str(limit), "cursor": cursor,
    }  # fmt: skip
    answer = get(api_url(api), "/recoveries", {k: v for k, v in params.items() if v})
    if as_json:
        print_json(answer)
        return
    rows = [
        [v["cluster"], v["id"], v["error"]["type"], v["state"], v["start_time"], v["merged_count"]]
        for v in answer["recoveries"]
    ]
    columns = ["cluster", "id", "error type", "state", "started", "merged"]
    console.print(_table("recoveries", columns, rows))
    if answer["next"]:
        console.print(f"more: --cursor {answer['next']}")


@recoveries_app.command("show")
def show_recovery(
    recovery_id: Annotated[str, typer.Argument(metavar="ID", help="The recovery's id.")],
    api: Api = None,
    cluster: Annotated[str | None, typer.Option(help="Its cluster: asks its owner only.")] = None,
    as_json: Json = False,
) -> None:
    """The whole row: error, every transition, merged errors, result."""
    path = f"/recoveries/{quote(recovery_id, safe='')}"
    row = get(api_url(api), path, {"cluster": cluster or ""})
    if as_json:
        print_json(row)
        return
    result = row["result"] or {}
    facts = [
        ["cluster", row["cluster"]], ["strategy", row["strategy"]], ["target", row["target"]],
        ["state", row["state"]], ["error", f"{row['error']['type']}: {row['error']['message']}"],
        ["started", row["start_time"]], ["ended", row["end_time"]],
        ["merged errors", row["merged_count"]], ["result", result.get("message")],
    ]  # fmt: skip
    console.print(_table(f"recovery {row['id']}", ["", ""], facts))
    steps = [[t["at"], t["state"], t["attempt"], t["reason"]] for t in row["transitions"]]
    console.print(_table("transitions", ["at", "state", "attempt", "reason"], steps))


@recoveries_app.command("cancel")
def cancel_recovery(
    recovery_id: Annotated[str, typer.Argument(metavar="ID", help="The recovery's id.")],
    reason: Annotated[str, typer.Option(help="Why: shown on the recovery's Cancelled step.")],
    api: Api = None,
    cluster: Annotated[str | None, typer.Option(help="Its cluster: asks its owner only.")] = None,
    as_json: Json = False,
) -> None:
    """Cancel an active recovery, with an operator's token (env TMC_API_TOKEN)."""
    path = f"/recoveries/{quote(recovery_id, safe='')}/cancel"
    if cluster:
        path += f"?cluster={quote(cluster, safe='')}"
    answer = post(api_url(api), path, {"reason": reason}, os.environ.get(TOKEN_ENV))
    if as_json:
        print_json(answer)
    else:
        console.print(f"cancel of {answer['id']} on {answer['cluster']} sent ({answer['reason']})")


def clusters(
    name: Annotated[str | None, typer.Argument(help="One cluster, in detail.")] = None,
    api: Api = None,
    as_json: Json = False,
) -> None:
    """Every cluster's recovery counts, or one cluster's active recoveries and last outcomes."""
    answer = get(api_url(api), "/clusters" if name is None else f"/clusters/{quote(name, safe='')}")
    if as_json:
        print_json(answer)
    elif name is None:
        console.print(
            _table("clusters", ["cluster", *_COUNTS], [_counts(c) for c in answer["clusters"]])
        )
    else:
        console.print(_table(f"cluster {name}", ["cluster", *_COUNTS], [_counts(answer)]))
        active = [
            [a["recovery_id"], a["strategy"], a["target"], a["state"], a["duration"]]
            for a in answer["active_recoveries"]
        ]
        columns = ["id", "strategy", "target", "state", "for"]
        console.print(_table("active recoveries", columns, active))
        outcomes = [
            [strategy, o["recovery_id"], o["state"], o["finished_at"], o["message"]]
            for strategy, o in sorted(answer["last_outcomes"].items())
        ]
        columns = ["strategy", "last recovery", "state", "finished", "message"]
        console.print(_table("last outcome per strategy", columns, outcomes))


_COUNTS = ["started", "completed", "escalated", "cancelled", "merged_errors"]


def _counts(view: dict[str, Any]) -> list[Any]:
    return [view["cluster_name"], *(view["counts"][name] for name in _COUNTS)]
