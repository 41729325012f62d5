from collections.abc import Iterator

import pytest

from streams.testing.registry_stub import RegistryStub
from tests.pipeline.conftest import env, fleet, start_worker, workers

__all__ = ["env", "fleet", "registry", "start_worker", "workers"]


@pytest.fixture
def registry() -> Iterator[RegistryStub]:
    with RegistryStub.running() as stub:
        yield stub
