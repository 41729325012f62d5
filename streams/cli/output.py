"""Human (rich) or machine (--json) output for CLI commands."""

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

console = Console(highlight=False)
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def print_json(data: Any) -> None:
    """``data`` as one line of JSON on stdout, for scripts."""
    print(json.dumps(data, sort_keys=True, default=str))


def emit(data: dict[str, Any], as_json: bool, title: str) -> None:
    """Print ``data`` as one JSON object, or as a two-column table under ``title``."""
    if as_json:
        print_json(data)
        return
    table = Table(title=title, show_header=False, title_justify="left")
    for key, value in data.items():
        table.add_row(key, "" if value is None else str(value))
    console.print(table)
