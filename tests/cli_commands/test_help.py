"""Every command's --help shows its texts whole (rich markup once ate "[env ...]")."""

from collections.abc import Iterator
from typing import Any

import typer
from rich.text import Text
from typer.core import TyperGroup

from streams.cli.app import app
from tests.cli import run_cli


def commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command under ``command`` (typer's own click; the root loads its on request)."""
    yield path, command
    if isinstance(command, TyperGroup):
        context = typer.Context(command)
        for name in command.list_commands(context):
            yield from commands(command.get_command(context, name), (*path, name))


def test_no_help_text_is_taken_for_rich_markup() -> None:
    every = list(commands(typer.main.get_command(app)))
    expected = {("emit",), ("watch",), ("dlq", "replay"), ("kafka", "up"), ("silence", "add")}
    assert expected <= {p for p, _ in every}
    eaten = []
    for path, command in every:
        texts = [command.help or "", *(getattr(p, "help", None) or "" for p in command.params)]
        eaten += [(path, t) for t in texts if Text.from_markup(t).plain != t]
    assert eaten == []


def test_kafka_up_help_through_the_installed_command() -> None:
    shown = run_cli("kafka", "up", "--help")
    assert shown.returncode == 0, shown.stderr
    assert "State dir of the broker (env TMC_BROKER_RUN_DIR)." in shown.stdout


def test_a_usage_error_is_click_style_with_exit_2_and_no_traceback() -> None:
    missing = run_cli("recoveries", "show")
    unknown = run_cli("no-such-command")
    for result, said in ((missing, "Missing argument 'ID'"), (unknown, "No such command")):
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert f"Error: {said}" in result.stderr
