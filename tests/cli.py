"""Run the installed `tmc-recovery` command as a user would, in a subprocess."""

import os
import subprocess
import sys
from pathlib import Path

CLI = str(Path(sys.executable).parent / "tmc-recovery")


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, env=full_env, timeout=timeout, check=False
    )
