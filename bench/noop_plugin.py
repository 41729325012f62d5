"""A do-nothing strategy that the real ``tmc-recovery worker`` loads as a plugin.

Big-state benchmarks need the worker command itself (its data dir handling, its replay log
line), not bench.noop_worker's bare service, and a strategy that completes at once so that
100,000 recoveries take minutes rather than hours. :func:`installed` puts this module on the
worker's path as an installed distribution with an entry point, the way an operator adds a
custom strategy (strategies/registry.py), so nothing in the worker is special-cased.

:class:`NoopPerOperation` outranks the built-ins for every error type and targets the
error's operation, so the errors of one (cluster, operation) merge into one recovery: a
storm of many event ids over fewer targets, as a fleet produces.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.noop_worker import NoopFast
from schemas.records import TMCError
from strategies.base import RecoveryStrategy
from strategies.registry import ENTRY_POINT_GROUP

ROOT = Path(__file__).resolve().parent.parent  # where ``bench`` is importable from


class NoopPerOperation(NoopFast):
    name = "NoopPerOperation"

    def target(self, error: TMCError) -> str:
        return error.operation


def strategy(gateway: object) -> RecoveryStrategy:
    """The entry point: the worker hands every plugin its cluster gateway; this one needs none."""
    return NoopPerOperation()


@contextmanager
def installed(workdir: Path) -> Iterator[str]:
    """While the block runs, workers started from this process load the plugin (PYTHONPATH
    names a dist-info with the entry point, and the repository for ``bench``); yields the
    strategy's name."""
    dist = workdir / "tmc_bench_noop-0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tmc-bench-noop\nVersion: 0\n")
    entry = f"[{ENTRY_POINT_GROUP}]\nnoop = {__name__}:strategy\n"
    (dist / "entry_points.txt").write_text(entry)
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(workdir), str(ROOT), before]))
    try:
        yield NoopPerOperation.name
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before
