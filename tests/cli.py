"""Run the installed `tmc-recovery` command as a user would, in a subprocess."""

import asyncio
import os
import subprocess
from typing import Any

from streams.testing.harness import CLI


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit 2 and a first stderr line ``error: ...`` holding every fragment; no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in first, first


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [CLI, *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
        input=input,
    )


async def run_cli_async(*args: str, **options: Any) -> subprocess.CompletedProcess[str]:
    """``run_cli`` in a thread, for async tests: their event loop keeps running while the
    command does, so a fleet simulator it serves still answers the worker meanwhile."""
    return await asyncio.to_thread(run_cli, *args, **options)
