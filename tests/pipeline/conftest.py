"""A simulated fleet and a per-test pipeline environment; workers are stopped by pid."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from strategies.simulator import FleetSimulator
from streams.testing.harness import PipelineEnv, WorkerProcess

CLUSTERS = [f"edge-{i}" for i in range(1, 7)]


@pytest.fixture
async def fleet() -> AsyncIterator[FleetSimulator]:
    async with FleetSimulator(CLUSTERS) as simulator:
        yield simulator


@pytest.fixture
def env(kafka_bootstrap: str, fleet: FleetSimulator, tmp_path: Path) -> PipelineEnv:
    return PipelineEnv(kafka_bootstrap, fleet.fleet_path, tmp_path)


@pytest.fixture
def workers(env: PipelineEnv) -> Iterator[list[WorkerProcess]]:
    """Started workers register here; every one is stopped (SIGKILL if it hangs) at the end."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()


@pytest.fixture
def start_worker(env: PipelineEnv, workers: list[WorkerProcess]):
    def start(name: str = "w1", **overrides: object) -> WorkerProcess:
        worker = WorkerProcess(env.config(name, **overrides), env.workdir / f"{name}.log")
        workers.append(worker.start())
        return worker

    return start
