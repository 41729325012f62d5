"""The Confluent registry client against the loopback stand-in: caching, outages, timeouts."""

import socket
import time

import pytest

from schemas.codec import (
    RegistryUnreachable,
    SchemaNotRegistered,
    SchemaRegistryClient,
    SchemaRegistryError,
)
from streams.testing.registry_stub import RegistryStub

SCHEMA = '{"type": "record", "name": "R", "fields": [{"name": "a", "type": "string"}]}'


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_schema_is_fetched_once_then_served_from_cache(registry: RegistryStub) -> None:
    schema_id = registry.add(SCHEMA)
    client = SchemaRegistryClient(registry.url)
    assert client.schema(schema_id) == SCHEMA
    assert client.schema(schema_id) == SCHEMA
    assert registry.requests == [("GET", f"/schemas/ids/{schema_id}")]


def test_register_returns_the_id_and_caches_it(registry: RegistryStub) -> None:
    client = SchemaRegistryClient(registry.url)
    first = client.register("tmc.errors-value", SCHEMA)
    assert client.register("tmc.errors-value", SCHEMA) == first
    assert registry.schemas[first] == SCHEMA
    assert registry.subjects == {"tmc.errors-value": [first]}
    assert len(registry.requests) == 1
    assert client.schema(first) == SCHEMA  # known from registering, no GET
    assert len(registry.requests) == 1


def test_an_unknown_id_is_not_asked_again_until_retry_after(registry: RegistryStub) -> None:
    clock = FakeClock()
    client = SchemaRegistryClient(registry.url, retry_after=5, clock=clock)
    for _ in range(3):
        with pytest.raises(SchemaNotRegistered):
            client.schema(999)
    assert len(registry.requests) == 1
    clock.now += 6
    with pytest.raises(SchemaNotRegistered):
        client.schema(999)
    assert len(registry.requests) == 2


def test_a_server_error_marks_the_registry_down_for_retry_after(registry: RegistryStub) -> None:
    schema_id = registry.add(SCHEMA)
    clock = FakeClock()
    client = SchemaRegistryClient(registry.url, retry_after=5, clock=clock)
    registry.fail_with = 503
    with pytest.raises(RegistryUnreachable, match="503"):
        client.schema(schema_id)
    registry.fail_with = None
    with pytest.raises(RegistryUnreachable, match="not retrying"):
        client.schema(schema_id)  # failing fast: an outage costs one timeout, not one per message
    assert len(registry.requests) == 1
    clock.now += 6
    assert client.schema(schema_id) == SCHEMA


def test_a_client_error_is_not_an_outage(registry: RegistryStub) -> None:
    registry.fail_with = 422
    client = SchemaRegistryClient(registry.url)
    with pytest.raises(SchemaRegistryError) as raised:
        client.register("s", SCHEMA)
    assert not isinstance(raised.value, RegistryUnreachable)


def test_a_hung_registry_times_out(registry: RegistryStub) -> None:
    registry.delay = 1.0
    client = SchemaRegistryClient(registry.url, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(RegistryUnreachable):
        client.schema(registry.add(SCHEMA))
    assert time.monotonic() - started < 0.9


def test_nothing_listening_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        client = SchemaRegistryClient(f"http://127.0.0.1:{port}", timeout=1)
        with pytest.raises(RegistryUnreachable):
            client.schema(1)


def test_subjects_are_quoted_into_the_path(registry: RegistryStub) -> None:
    client = SchemaRegistryClient(registry.url + "/")
    client.register("team/a b", SCHEMA)
    assert list(registry.subjects) == ["team/a b"]
