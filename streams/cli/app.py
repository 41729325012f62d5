"""The root command: subcommands imported only when named (a query need not load the
worker: each call of the CLI is a fresh process), plus one-line reporting of typed errors."""

import importlib
import sys

import typer
from rich.console import Console
from typer import _click  # typer's own click: the types TyperGroup's methods take
from typer.core import TyperGroup

from schemas.errors import TmcRecoveryError
from streams.broker.errors import BrokerStartFailed

#: Each subcommand: its module and its attribute there (a sub-app, or a command function).
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "kafka": ("streams.cli.kafka", "app"),
    "topics": ("streams.cli.topics", "app"),
    "worker": ("streams.cli.worker", "worker"),
    "emit": ("streams.cli.emit", "emit"),
    "watch": ("streams.cli.watch", "watch"),
    "dlq": ("streams.cli.dlq", "app"),
    "status": ("streams.cli.queries", "status"),
    "recoveries": ("streams.cli.queries", "recoveries_app"),
    "clusters": ("streams.cli.queries", "clusters"),
    "pause": ("streams.cli.control", "pause"),
    "resume": ("streams.cli.control", "resume"),
    "shadow": ("streams.cli.control", "shadow"),
    "silence": ("streams.cli.silences", "app"),
    "config": ("streams.cli.config_cmd", "app"),
}


class LazyCommands(TyperGroup):
    """Lists every subcommand, and imports one's module only when it is named (or when
    ``--help`` lists them all)."""

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(SUBCOMMANDS)

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name not in SUBCOMMANDS:
            return None
        module, attribute = SUBCOMMANDS[cmd_name]
        found = getattr(importlib.import_module(module), attribute)
        if isinstance(found, typer.Typer):
            command: _click.Command = typer.main.get_group(found)
        else:
            single = typer.Typer(add_completion=False)
            single.command(cmd_name)(found)
            command = typer.main.get_command(single)
        command.name = cmd_name
        return command


app = typer.Typer(
    name="tmc-recovery",
    help="Automated recovery for kcp TMC fleets, on Apache Kafka.",
    cls=LazyCommands,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def root() -> None:
    """Makes the root a group (its commands come from ``LazyCommands``); no options."""


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
