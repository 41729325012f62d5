"""Before a static member joins: is its instance id free, or held by another live worker?

Two workers with one ``group.instance.id`` fence each other: the broker hands the id to
whichever joined last, and the other one's next heartbeat fails. So a worker started with
``kafka.instance_id`` first describes its group (DescribeGroups v4, the first version that
names each member's instance id; aiokafka 0.14 only has v0-v3) and refuses to start when
another worker holds the id.

A member holding the id is not always another worker: a worker that was SIGKILLed stays a
member until its session times out, and its restart is exactly the case static membership
is for. The holder's client id (``tmc-recovery/<host>/<pid>``, streams/app.py) tells the
two apart: the same host with a pid that is no longer running (or is this very process,
as in a restarted container) is this worker's previous incarnation. A holder on another
host, a running process on this host, or a client that is not a worker is refused.
"""

import asyncio
import os
import socket
from dataclasses import dataclass
from typing import Any

from aiokafka.client import AIOKafkaClient, CoordinationType
from aiokafka.errors import KafkaError, for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Boolean, Bytes, Int16, Int32, Schema, String

from schemas.errors import TmcRecoveryError
from streams.app import parse_client_id
from streams.config import KafkaSettings

COORDINATOR_WAIT_S = 30.0


class MembershipError(TmcRecoveryError):
    """The instance id is held by another worker, or the group could not be described."""


class _DescribeGroupsResponseV4(Response):  # type: ignore[misc]  # aiokafka is untyped
    API_KEY = 15
    API_VERSION = 4
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "groups",
            Array(
                ("error_code", Int16),
                ("group", String("utf-8")),
                ("state", String("utf-8")),
                ("protocol_type", String("utf-8")),
                ("protocol", String("utf-8")),
                (
                    "members",
                    Array(
                        ("member_id", String("utf-8")),
                        ("group_instance_id", String("utf-8")),  # nullable
                        ("client_id", String("utf-8")),
                        ("client_host", String("utf-8")),
                        ("member_metadata", Bytes),
                        ("member_assignment", Bytes),
                    ),
                ),
                ("authorized_operations", Int32),
            ),
        ),
    )


class _DescribeGroupsRequestV4(RequestStruct):  # type: ignore[misc]
    API_KEY = 15
    API_VERSION = 4
    RESPONSE_TYPE = _DescribeGroupsResponseV4
    SCHEMA = Schema(("groups", Array(String("utf-8"))), ("include_authorized_operations", Boolean))


class DescribeGroupsWithInstanceIds(Request[_DescribeGroupsRequestV4]):  # type: ignore[misc]
    API_KEY = 15

    def __init__(self, groups: list[str]) -> None:
        self._groups = groups

    def build(self, struct: type[_DescribeGroupsRequestV4]) -> _DescribeGroupsRequestV4:
        return struct(self._groups, False)


@dataclass(frozen=True)
class Member:
    member_id: str
    instance_id: str | None
    client_id: str
    client_host: str


@dataclass(frozen=True)
class GroupDescription:
    state: str
    members: list[Member]


async def describe_group(
    bootstrap: str, group_id: str, wait_s: float = COORDINATOR_WAIT_S
) -> GroupDescription:
    """The group's state and members, with each member's instance id.

    A coordinator that is not there yet (a fresh broker creates its offsets topic on the
    first group lookup) or still loading is waited for, up to ``wait_s``."""
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + wait_s
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    try:
        await client.bootstrap()
        while True:
            try:
                group = await _describe_once(client, group_id)
            except KafkaError as exc:
                if not exc.retriable or loop.time() > give_up_at:
                    raise
                await asyncio.sleep(0.5)
                continue
            break
    except NotImplementedError as exc:  # the broker predates DescribeGroups v4 (Kafka 2.4)
        raise MembershipError(
            f"cannot check kafka.instance_id on {bootstrap}: the broker does not name "
            "static members (needs Kafka 2.4 or later)"
        ) from exc
    except KafkaError as exc:
        raise MembershipError(
            f"cannot describe consumer group {group_id} on {bootstrap}: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        await client.close()
    members = [
        Member(m["member_id"], m["group_instance_id"], m["client_id"], m["client_host"])
        for m in group["members"]
    ]
    return GroupDescription(group["state"], members)


async def _describe_once(client: AIOKafkaClient, group_id: str) -> dict[str, Any]:
    node = await client.coordinator_lookup(CoordinationType.GROUP, group_id)
    response = await client.send(node, DescribeGroupsWithInstanceIds([group_id]))
    group: dict[str, Any] = response.to_object()["groups"][0]
    if group["error_code"]:
        raise for_code(group["error_code"])()
    return group


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def conflict(
    members: list[Member], instance_id: str, host: str | None = None, pid: int | None = None
) -> Member | None:
    """The member that holds ``instance_id`` as another live worker, or None when the id is
    free or held only by this worker's previous (dead) incarnation on this host."""
    host = socket.gethostname() if host is None else host
    pid = os.getpid() if pid is None else pid
    for member in members:
        if member.instance_id != instance_id:
            continue
        holder = parse_client_id(member.client_id)
        if holder is None or holder[0] != host:
            return member
        if holder[1] != pid and _pid_running(holder[1]):
            return member
    return None


async def check_instance_id_free(kafka: KafkaSettings) -> None:
    """MembershipError (one line) when another live worker holds ``kafka.instance_id``."""
    if kafka.instance_id is None:
        return
    group = await describe_group(kafka.bootstrap_servers, kafka.group_id)
    holder = conflict(group.members, kafka.instance_id)
    if holder is not None:
        where = holder.client_host.lstrip("/")
        raise MembershipError(
            f"kafka.instance_id {kafka.instance_id!r} is already held by a live member of "
            f"group {kafka.group_id} (client {holder.client_id} at {where}); "
            "give each worker its own id (e.g. the StatefulSet pod name), or wait until that "
            f"member is gone: its session times out {kafka.session_timeout_s:g}s after it stops"
        )
