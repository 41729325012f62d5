"""The ``kube_fleet`` fixture: real kube-apiservers, started once per session that asks.

A Kubernetes test never skips. Missing binaries cost minutes of compiling, so when a
collected test uses the fixture they are built in the background at the lowest CPU
priority while the rest of the suite runs, and the tests that need them run last (with
room in their timeout to wait for the build). A failed build fails those tests with its
log and the command that builds them. Under xdist they form one group, so one worker
starts the fleet; each worker's build request waits on the build lock, and only the
first compiles.
"""

import faulthandler
import os
import signal
import subprocess
from collections.abc import Iterator

import pytest

from tests.kube import build, cluster

#: How long a Kubernetes test may wait for the background build (a cold one takes 8-15 min).
BUILD_WAIT_S = 1800

_started: list[cluster.Fleet] = []
_building: list[subprocess.Popen[bytes]] = []


#: A fixture parameter that stands for the real servers: its tests ask for ``kube_fleet``
#: at run time (``request.getfixturevalue``), so their fixture names do not show it.
KUBE_PARAM = "kube-apiserver"


def _uses_kube(item: pytest.Item) -> bool:
    if "kube_fleet" in getattr(item, "fixturenames", ()):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and KUBE_PARAM in callspec.params.values()


# First: xdist's own hook reads the xdist_group markers to group the node ids.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Always last and in one xdist group (one worker starts the fleet): every xdist worker
    # must collect the same order, whether or not a build ends between their collections.
    kube = [item for item in items if _uses_kube(item)]
    rest = [item for item in items if item not in kube]
    items[:] = rest + kube
    for item in kube:
        item.add_marker(pytest.mark.xdist_group("kube"))
    if config.option.collectonly or not kube or build.cached() is not None:
        return
    for item in kube:
        item.add_marker(pytest.mark.timeout(BUILD_WAIT_S))
    process = build.start_in_background()
    if process is not None:
        _building.append(process)
    config.get_terminal_writer().line(
        f"kube: kube-apiserver and etcd are building in the background (nice 19, log"
        f" {build.log_path()}); the {len(kube)} tests that need them run last"
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    """In an xdist worker: stop if xdist left the Kubernetes tests ungrouped (it did so,
    silently, with pytest 9.2), rather than let every worker start a fleet of its own."""
    if not getattr(session.config.option, "loadgroup", False):
        return
    stray = [i.nodeid for i in session.items if _uses_kube(i) and not i.nodeid.endswith("@kube")]
    if stray:
        raise pytest.UsageError(f"xdist did not group the Kubernetes tests: {stray[:3]}")


def _binaries() -> build.Binaries:
    """The built binaries, once the background build (if any) has ended."""
    if build.cached() is None:
        # A cold build outlasts faulthandler_timeout, the backstop for a spin that holds the
        # GIL; waiting on a child or a lock holds none, and pytest-timeout (BUILD_WAIT_S)
        # still bounds the wait.
        faulthandler.cancel_dump_traceback_later()
    for process in _building:
        if process.wait() != 0:
            tail = build.log_path().read_text(errors="replace").splitlines()[-20:]
            pytest.fail(
                "building kube-apiserver and etcd failed:\n" + "\n".join(tail)
                + "\nbuild them with: make kube-bins (python -m tests.kube.build)",
                pytrace=False,
            )  # fmt: skip
    try:
        return build.ensure()
    except build.BuildFailed as exc:
        pytest.fail(f"{exc}\nbuild them with: make kube-bins", pytrace=False)


@pytest.fixture(scope="session")
def kube_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster.Fleet]:
    """A control plane with the TMC CRDs and two clusters, each its own kube-apiserver."""
    fleet = cluster.start(_binaries(), tmp_path_factory.mktemp("kube"))
    _started.append(fleet)
    try:
        yield fleet
    finally:
        fleet.stop()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A run that ends before its Kubernetes tests stops their build (the next one cleans up)."""
    for process in _building:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # its own group: the build and its go
            process.wait()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for fleet in _started:
        terminalreporter.write_line(
            f"kube: {1 + len(fleet.clusters)} kube-apiservers {build.VERSION} on one etcd,"
            f" start-to-ready {fleet.start_seconds:.2f} s"
        )
