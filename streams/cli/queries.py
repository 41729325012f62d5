"""`tmc-recovery status | recoveries list|show|cancel|retry|approve|reject | clusters [NAME]`:
the API's reads, as tables for people and ``--json`` for scripts (the API's own JSON,
unchanged), and its changes."""

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

recoveries_app = typer.Typer(
    help=(
        "List recoveries, show one with every transition and its audit trail, cancel or retry "
        "one, approve or reject one awaiting approval."
    )
)


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
    changes = [[a["at"], a["user"], a["action"], a["reason"]] for a in row.get("audit", [])]
    if changes:
        console.print(_table("changes (audit)", ["at", "by", "action", "why"], changes))


Reason = Annotated[str, typer.Option(help="Why: kept in the audit trail and on the recovery.")]
Cluster = Annotated[str | None, typer.Option(help="Its cluster: asks its owner only.")]
RecoveryId = Annotated[str, typer.Argument(metavar="ID", help="The recovery's id.")]


def _change(
    recovery_id: str, command: str, reason: str, api: str | None, cluster: str | None
) -> Any:
    """POST the change with an operator's token (env TMC_API_TOKEN): the API's answer."""
    path = f"/recoveries/{quote(recovery_id, safe='')}/{command}"
    if cluster:
        path += f"?cluster={quote(cluster, safe='')}"
    return post(api_url(api), path, {"reason": reason}, os.environ.get(TOKEN_ENV))


@recoveries_app.command("cancel")
def cancel_recovery(
    recovery_id: RecoveryId, reason: Reason, api: Api = None, cluster: Cluster = None,
    as_json: Json = False,
) -> None:  # fmt: skip
    """Cancel an active recovery, with an operator's token (env TMC_API_TOKEN)."""
    answer = _change(recovery_id, "cancel", reason, api, cluster)
    if as_json:
        print_json(answer)
    else:
        console.print(f"cancel of {answer['id']} on {answer['cluster']} sent ({answer['reason']})")


@recoveries_app.command("retry")
def retry_recovery(
    recovery_id: RecoveryId, reason: Reason, api: Api = None, cluster: Cluster = None,
    as_json: Json = False,
) -> None:  # fmt: skip
    """Run an escalated or cancelled recovery again as a new one: its error is emitted again
    (a new event id) and goes through triage; with an operator's token (env TMC_API_TOKEN)."""
    answer = _change(recovery_id, "retry", reason, api, cluster)
    if as_json:
        print_json(answer)
    else:
        console.print(
            f"retry of {answer['id']} on {answer['cluster']} emitted as event {answer['event_id']}"
        )


@recoveries_app.command("approve")
def approve_recovery(
    recovery_id: RecoveryId, reason: Reason, api: Api = None, cluster: Cluster = None,
    as_json: Json = False,
) -> None:  # fmt: skip
    """Let a recovery awaiting approval take the destructive action it stopped before, with
    an approver's token (env TMC_API_TOKEN, role approve)."""
    _decided(_change(recovery_id, "approve", reason, api, cluster), as_json)


@recoveries_app.command("reject")
def reject_recovery(
    recovery_id: RecoveryId, reason: Reason, api: Api = None, cluster: Cluster = None,
    as_json: Json = False,
) -> None:  # fmt: skip
    """Cancel a recovery awaiting approval instead, with an approver's token (role approve)."""
    _decided(_change(recovery_id, "reject", reason, api, cluster), as_json)


def _decided(answer: Any, as_json: bool) -> None:
    if as_json:
        print_json(answer)
    else:
        sent = f"{answer['command']} of {answer['id']} on {answer['cluster']}"
        console.print(f"{sent} sent ({answer['reason']})")


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
