from collections.abc import Iterator

import pytest

from streams.testing.registry_stub import RegistryStub


@pytest.fixture
def registry() -> Iterator[RegistryStub]:
    with RegistryStub.running() as stub:
        yield stub
