"""Human (rich) or machine (--json) output for CLI commands."""

import json
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console(highlight=False)


def emit(data: dict[str, Any], as_json: bool, title: str) -> None:
    """Print ``data`` as one JSON object, or as a two-column table under ``title``."""
    if as_json:
        print(json.dumps(data, sort_keys=True, default=str))
        return
    table = Table(title=title, show_header=False, title_justify="left")
    for key, value in data.items():
        table.add_row(key, "" if value is None else str(value))
    console.print(table)
