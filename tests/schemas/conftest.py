import faulthandler
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from streams.testing.registry_stub import RegistryStub


@pytest.fixture
def registry() -> Iterator[RegistryStub]:
    with RegistryStub.running() as stub:
        yield stub


@pytest.fixture(autouse=True)
def _spin_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    marker = request.node.get_closest_marker("spin_guard")
    if marker is None:
        yield
        return
    # Write where pytest's own faulthandler writes: a copy of the real stderr, since the test's
    # output is captured into a file that is lost when the watchdog ends the process.
    out: Any = sys.stderr
    try:
        from _pytest.faulthandler import fault_handler_stderr_fd_key

        out = request.config.stash.get(fault_handler_stderr_fd_key, out)
    except ImportError:  # pragma: no cover - another pytest
        pass
    faulthandler.dump_traceback_later(marker.args[0], exit=True, file=out)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
