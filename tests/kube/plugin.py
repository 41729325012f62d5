"""The ``kube_fleet`` fixture: real kube-apiservers, started once per session that asks.

A Kubernetes test never skips. Missing binaries cost minutes of compiling, so when a
collected test uses the fixture they are built in the background at the lowest CPU
priority while the rest of the suite runs, and the tests that need them run last (with
room in their timeout to wait for the build). A failed build fails those tests with its
log and the command that builds them.
"""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kube import build, cluster

#: How long a Kubernetes test may wait for the background build (a cold one takes 8-15 min).
BUILD_WAIT_S = 1800

_started: list[cluster.Fleet] = []
_building: list[tuple[subprocess.Popen[bytes], Path]] = []


def _uses_kube(item: pytest.Item) -> bool:
    return "kube_fleet" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kube = [item for item in items if _uses_kube(item)]
    if config.option.collectonly or not kube or build.cached() is not None:
        return
    items[:] = [item for item in items if not _uses_kube(item)] + kube
    for item in kube:
        item.add_marker(pytest.mark.timeout(BUILD_WAIT_S))
    build.CACHE.mkdir(parents=True, exist_ok=True)
    log = build.CACHE / f"{build.key()}.build.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.kube.build"],
            stdout=out, stderr=subprocess.STDOUT, cwd=Path(__file__).parents[2],
            preexec_fn=lambda: os.nice(19), start_new_session=True,
        )  # fmt: skip
    _building.append((process, log))
    config.get_terminal_writer().line(
        f"kube: building kube-apiserver and etcd in the background (nice 19, pid"
        f" {process.pid}, log {log}); the {len(kube)} tests that need them run last"
    )


def _binaries() -> build.Binaries:
    """The built binaries, once the background build (if any) has ended."""
    for process, log in _building:
        if process.wait() != 0:
            tail = log.read_text(errors="replace").splitlines()[-20:]
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
    for process, _ in _building:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # its own group: the build and its go
            process.wait()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for fleet in _started:
        terminalreporter.write_line(
            f"kube: {1 + len(fleet.clusters)} kube-apiservers {build.VERSION} on one etcd,"
            f" start-to-ready {fleet.start_seconds:.2f} s"
        )
