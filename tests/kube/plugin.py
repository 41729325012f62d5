"""The ``kube_fleet`` fixture: real kube-apiservers, started once per session that asks.

A Kubernetes test never skips. Missing binaries are built after collection, outside any
test's timeout, and only when a collected test uses the fixture; a failed build fails
those tests with the command that builds them.
"""

from collections.abc import Iterator

import pytest

from tests.kube import build, cluster

_started: list[cluster.Fleet] = []
_build_error: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.option.collectonly or build.cached() is not None:
        return
    if any("kube_fleet" in getattr(item, "fixturenames", ()) for item in items):
        # Uncaptured, so a build of minutes shows that it is building.
        capture = config.pluginmanager.getplugin("capturemanager")
        try:
            with capture.global_and_fixture_disabled():
                build.ensure()
        except build.BuildFailed as exc:
            _build_error.append(str(exc))


@pytest.fixture(scope="session")
def kube_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster.Fleet]:
    """A control plane with the TMC CRDs and two clusters, each its own kube-apiserver."""
    if _build_error:
        pytest.fail(
            f"{_build_error[0]}\nbuild them with: make kube-bins (python -m tests.kube.build)",
            pytrace=False,
        )
    fleet = cluster.start(build.ensure(), tmp_path_factory.mktemp("kube"))
    _started.append(fleet)
    try:
        yield fleet
    finally:
        fleet.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for fleet in _started:
        terminalreporter.write_line(
            f"kube: {1 + len(fleet.clusters)} kube-apiservers {build.VERSION} on one etcd,"
            f" start-to-ready {fleet.start_seconds:.2f} s"
        )
