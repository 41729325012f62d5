"""Keep a decode that spins inside compiled code from hanging the test run.

fastavro's compiled reader, looping over a bogus array, never returns to the interpreter. So
pytest-timeout cannot stop it, whichever method: the signal method's handler runs only between
bytecodes, and the thread method's timer thread needs the GIL, which the looping thread never
releases (checked: both fired only once the loop died of MemoryError, 19 s past a 5 s timeout,
under a 3 GB ulimit; without one the loop eats the machine's memory). Two tools that do work:

- ``run_isolated``: the risky decode runs in a child interpreter with a hard timeout and an
  address-space cap; the test fails cleanly and the run goes on.
- the ``spin_guard(seconds)`` marker (tests/schemas/conftest.py): faulthandler's watchdog, a C
  thread that needs no GIL, dumps every thread's traceback and exits the run when the test
  outlives ``seconds``. It ends the whole run, which still beats a CI job that hangs.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MEMORY_CAP = 1 << 30  # bytes of address space for the child


def run_isolated(code: str, *, timeout: float = 30.0) -> str:
    """Run ``code`` in a fresh interpreter (at the repo root) and return what it printed."""
    prelude = (
        f"import resource\nresource.setrlimit(resource.RLIMIT_AS, ({MEMORY_CAP}, {MEMORY_CAP}))\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", prelude + textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {timeout:.0f}s: a decode spinning in compiled code?")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()
