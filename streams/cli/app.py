"""The root command: subcommands plus one-line reporting of typed errors."""

import sys

import typer
from rich.console import Console

from schemas.errors import TmcRecoveryError
from streams.broker.errors import BrokerStartFailed
from streams.cli import (
    config_cmd,
    control,
    dlq,
    emit,
    kafka,
    queries,
    silences,
    topics,
    watch,
    worker,
)

app = typer.Typer(
    name="tmc-recovery",
    help="Automated recovery for kcp TMC fleets, on Apache Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(kafka.app, name="kafka")
app.add_typer(topics.app, name="topics")
app.command()(worker.worker)
app.command()(emit.emit)
app.command()(watch.watch)
app.add_typer(dlq.app, name="dlq")
app.command()(queries.status)
app.add_typer(queries.recoveries_app, name="recoveries")
app.command()(queries.clusters)
app.command()(control.pause)
app.command()(control.resume)
app.command()(control.shadow)
app.add_typer(silences.app, name="silence")
app.add_typer(config_cmd.app, name="config")

EXIT_ERROR = 2


def report(exc: TmcRecoveryError) -> None:
    err = Console(stderr=True, highlight=False)
    err.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
    if isinstance(exc, BrokerStartFailed) and exc.log_tail:
        err.print(f"last lines of {exc.log_file}:", style="dim")
        err.print(exc.log_tail, markup=False, highlight=False, soft_wrap=True)


def main() -> None:
    """Run the CLI; an expected failure prints one line (plus a log tail) and exits 2."""
    try:
        code = app(standalone_mode=False)
    except TmcRecoveryError as exc:
        report(exc)
        sys.exit(EXIT_ERROR)
    except typer.TyperException as exc:  # typer's own click: a usage error, a bad parameter
        show = getattr(exc, "show", None)
        if show is None:
            report(TmcRecoveryError(exc.format_message()))
        else:
            show()
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
