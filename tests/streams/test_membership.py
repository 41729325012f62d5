"""Static membership: is an instance id free, held by this worker's dead predecessor, or
held by another live worker? Decided from the group as the broker describes it."""

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer

from streams.app import client_id, parse_client_id
from streams.cli.membership import (
    Member,
    MembershipError,
    check_instance_id_free,
    conflict,
    describe_group,
)
from streams.config import KafkaSettings
from tests.conftest import TopicFactory

HOST = socket.gethostname()


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(proc.stdout)


def member(instance_id: str | None, client: str) -> Member:
    return Member(f"{client}-{uuid.uuid4()}", instance_id, client, "/127.0.0.1")


def test_client_ids_name_host_and_process() -> None:
    assert client_id() == f"tmc-recovery/{HOST}/{os.getpid()}"
    assert parse_client_id(client_id("pod-0", 7)) == ("pod-0", 7)
    assert parse_client_id("faust-0.15.3") is None
    assert parse_client_id("tmc-recovery/pod-0/x") is None


def test_a_free_id_or_one_held_by_a_dead_predecessor_is_no_conflict() -> None:
    members = [
        member("w-2", client_id(HOST, os.getppid())),
        member(None, client_id("elsewhere", 1)),
        member("w-1", client_id(HOST, dead_pid())),  # SIGKILLed, session not yet expired
    ]
    assert conflict(members, "w-3") is None
    assert conflict(members, "w-1") is None


def test_a_restarted_container_reusing_its_pid_is_its_own_predecessor() -> None:
    assert conflict([member("w-1", client_id(HOST, 1))], "w-1", host=HOST, pid=1) is None


def test_a_live_process_on_this_host_holding_the_id_is_a_conflict() -> None:
    holder = member("w-1", client_id(HOST, os.getppid()))
    assert conflict([holder], "w-1") == holder


def test_another_host_or_another_kind_of_client_holding_the_id_is_a_conflict() -> None:
    elsewhere = member("w-1", client_id("other-host", os.getpid()))
    assert conflict([elsewhere], "w-1") == elsewhere
    java = member("w-1", "consumer-tmc-recovery-1")
    assert conflict([java], "w-1") == java


@pytest.fixture
async def static_member(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> AsyncIterator[tuple[str, str]]:
    """A live static member ``w-1`` of a fresh group, on 'another host'."""
    topic = topic_factory("member", 2)
    group = f"g{uuid.uuid4().hex[:8]}"
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        group_instance_id="w-1",
        client_id=client_id("other-host", 4242),
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
    )
    await consumer.start()
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        yield group, topic
    finally:
        await consumer.stop()


@pytest.mark.kafka
async def test_the_broker_names_each_members_instance_id(
    kafka_bootstrap: str, static_member: tuple[str, str]
) -> None:
    group, _ = static_member
    described = await describe_group(kafka_bootstrap, group)
    assert described.state == "Stable"
    assert [(m.instance_id, m.client_id) for m in described.members] == [
        ("w-1", "tmc-recovery/other-host/4242")
    ]


@pytest.mark.kafka
async def test_an_id_held_by_a_live_member_refuses_start(
    kafka_bootstrap: str, static_member: tuple[str, str]
) -> None:
    group, _ = static_member
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap, group_id=group, instance_id="w-1")
    with pytest.raises(MembershipError, match=r"'w-1' is already held by a live member") as e:
        await check_instance_id_free(kafka)
    assert "tmc-recovery/other-host/4242" in str(e.value)
    await check_instance_id_free(kafka.model_copy(update={"instance_id": "w-2"}))


@pytest.mark.kafka
async def test_an_unknown_group_has_every_id_free(kafka_bootstrap: str) -> None:
    group = f"g{uuid.uuid4().hex[:8]}"
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap, group_id=group, instance_id="w-1")
    await check_instance_id_free(kafka)
    assert (await describe_group(kafka_bootstrap, group)).members == []


async def test_an_unreachable_broker_is_one_clear_error() -> None:
    kafka = KafkaSettings(bootstrap_servers="127.0.0.1:1", instance_id="w-1")
    with pytest.raises(MembershipError, match="cannot describe consumer group tmc-recovery on"):
        await check_instance_id_free(kafka)
