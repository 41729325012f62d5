"""The HTTP adapter against the simulator: bounded probes, tokens, and SyncTarget writes."""

import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from strategies.adapters.conditions import set_condition
from strategies.adapters.fleet import Fleet, parse_fleet
from strategies.adapters.http_gateway import HttpClusterGateway
from strategies.gateway import (
    BadResponse,
    ClusterHealth,
    ClusterUnreachable,
    GatewayError,
    UnknownCluster,
)
from strategies.simulator import FaultMode, FleetSimulator
from tests.strategies.conftest import HANG_PROBE_TIMEOUT_S, PROBE_TIMEOUT_S

READY = ClusterHealth(True, "ClusterReachable", "readyz answered ok")


def fleet_like(sim: FleetSimulator, **east: object) -> Fleet:
    """The simulator's fleet with cluster east's entry changed (None removes a field)."""
    document = sim.fleet.model_dump(mode="json", exclude_none=True)
    entry = {**document["clusters"]["east"], **east}
    document["clusters"]["east"] = {k: v for k, v in entry.items() if v is not None}
    return parse_fleet(document)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_probe_of_a_ready_cluster(gateway: HttpClusterGateway) -> None:
    result = await gateway.probe("east")

    assert (result.cluster, result.healthy, result.status, result.reason) == (
        "east",
        True,
        200,
        "OK",
    )
    assert result.detail == ""
    assert 0 < result.latency_s < PROBE_TIMEOUT_S


async def test_refused_connection_is_unreachable(sim: FleetSimulator) -> None:
    fleet = fleet_like(sim, server=f"http://127.0.0.1:{closed_port()}")
    async with HttpClusterGateway(fleet, probe_timeout_s=PROBE_TIMEOUT_S) as gateway:
        with pytest.raises(ClusterUnreachable) as unreachable:
            await gateway.probe("east")

    assert unreachable.value.endpoint == "cluster east"
    assert "ClientConnectorError" in unreachable.value.detail


@pytest.mark.parametrize("operation", ["probe", "refresh_connection", "record_health"])
async def test_unknown_cluster(gateway: HttpClusterGateway, operation: str) -> None:
    call = getattr(gateway, operation)
    with pytest.raises(UnknownCluster, match="'atlantis' is not in the fleet"):
        await (call("atlantis", READY) if operation == "record_health" else call("atlantis"))


async def test_hang_times_out_at_the_probe_timeout(
    sim: FleetSimulator, impatient_gateway: HttpClusterGateway
) -> None:
    await sim.admin.set_fault("east", FaultMode.HANG)

    started = time.monotonic()
    with pytest.raises(ClusterUnreachable, match=f"within {HANG_PROBE_TIMEOUT_S} s"):
        await impatient_gateway.probe("east")

    # Bounded by the timeout, not by the hang (which lasts until the simulator stops).
    assert HANG_PROBE_TIMEOUT_S <= time.monotonic() - started < HANG_PROBE_TIMEOUT_S + 2.0


async def test_slow_cluster_within_the_timeout_is_healthy(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    await sim.admin.set_fault("east", FaultMode.SLOW, delay_s=0.1)

    result = await gateway.probe("east")

    assert result.healthy
    assert result.latency_s >= 0.1


async def test_the_bearer_token_is_sent_and_refresh_rereads_it(
    sim: FleetSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    right = sim.fleet.cluster("east").bearer_token()
    assert right is not None
    monkeypatch.setenv("EAST_TOKEN", "stale-token")
    fleet = fleet_like(sim, token_env="EAST_TOKEN", token_file=None)
    async with HttpClusterGateway(fleet, probe_timeout_s=PROBE_TIMEOUT_S) as gateway:
        rejected = await gateway.probe("east")
        monkeypatch.setenv("EAST_TOKEN", right.get_secret_value())
        still_cached = await gateway.probe("east")
        await gateway.refresh_connection("east")
        accepted = await gateway.probe("east")

    assert (rejected.healthy, rejected.status, rejected.detail) == (False, 401, "Unauthorized")
    assert still_cached.status == 401
    assert accepted.healthy


async def test_a_vanished_token_file_fails_the_refresh(sim: FleetSimulator, tmp_path: Path) -> None:
    token = tmp_path / "east.token"
    token.write_text("anything")
    async with HttpClusterGateway(fleet_like(sim, token_file=str(token))) as gateway:
        token.unlink()
        with pytest.raises(GatewayError, match="cannot read token file"):
            await gateway.refresh_connection("east")


async def test_record_health_sets_ready_and_keeps_other_conditions(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    await gateway.record_health("east", ClusterHealth(False, "ClusterNotReady", "503"))
    await gateway.record_health("east", READY)

    target = (await sim.admin.cluster("east"))["sync_target"]
    assert target["metadata"]["resourceVersion"] == "3"
    conditions = {c["type"]: c for c in target["status"]["conditions"]}
    assert conditions["HeartbeatHealthy"]["status"] == "True"
    assert conditions["Ready"] == {
        "type": "Ready",
        "status": "True",
        "reason": "ClusterReachable",
        "message": "readyz answered ok",
        "lastTransitionTime": conditions["Ready"]["lastTransitionTime"],
    }
    requests = [(r["method"], r["status"]) for r in (await sim.admin.control_plane())["requests"]]
    assert requests == [("GET", 200), ("PATCH", 200)] * 2


def test_transition_time_moves_only_when_the_status_changes() -> None:
    def ready(status: str, at: str) -> dict[str, str]:
        return {"type": "Ready", "status": status, "reason": "R", "lastTransitionTime": at}

    other = {"type": "HeartbeatHealthy", "status": "True", "lastTransitionTime": "t0"}
    first = set_condition([other], ready("False", "t1"))
    same = set_condition(first, ready("False", "t2"))
    flipped = set_condition(same, ready("True", "t3"))

    assert first == [other, ready("False", "t1")]
    assert same == [other, ready("False", "t1")]
    assert flipped == [other, ready("True", "t3")]


async def test_write_conflicts_are_retried_from_a_fresh_read(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    await sim.admin.set_control_plane_fault(FaultMode.CONFLICT, for_requests=2)

    await gateway.record_health("east", READY)

    requests = [(r["method"], r["status"]) for r in (await sim.admin.control_plane())["requests"]]
    assert requests == [("GET", 200), ("PATCH", 409)] * 2 + [("GET", 200), ("PATCH", 200)]
    assert (await sim.admin.cluster("east"))["health_updates"][-1]["status"] == "True"


async def test_endless_conflicts_are_a_bad_response(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    await sim.admin.set_control_plane_fault(FaultMode.CONFLICT)

    with pytest.raises(BadResponse, match="still conflicting after 3 tries") as bad:
        await gateway.record_health("east", READY)
    assert bad.value.status == 409


async def test_a_missing_sync_target_is_a_bad_response(sim: FleetSimulator) -> None:
    async with HttpClusterGateway(fleet_like(sim, logical_cluster="root:elsewhere")) as gateway:
        with pytest.raises(BadResponse, match=r'synctargets\.tmc\.kcp\.io "east" not found'):
            await gateway.record_health("east", READY)


async def test_a_hanging_control_plane_times_out(sim: FleetSimulator) -> None:
    await sim.admin.set_control_plane_fault(FaultMode.HANG)
    async with HttpClusterGateway(sim.fleet, request_timeout_s=0.2) as gateway:
        started = time.monotonic()
        with pytest.raises(ClusterUnreachable, match="the control plane is unreachable"):
            await gateway.record_health("east", READY)

    assert time.monotonic() - started < 1.0


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    files = ["-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            *files,
            *subject,
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_https_with_the_fleets_ca_file(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    async with FleetSimulator(["east"], tls_cert=cert, tls_key=key) as sim:
        assert sim.url.startswith("https://")
        async with HttpClusterGateway(sim.fleet) as gateway:
            assert (await gateway.probe("east")).healthy
            await gateway.record_health("east", READY)
        assert (await sim.admin.cluster("east"))["health_updates"][-1]["status"] == "True"

        untrusting = fleet_like(sim, ca_file=None)
        async with HttpClusterGateway(untrusting) as gateway:
            with pytest.raises(ClusterUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
                await gateway.probe("east")


async def test_refresh_reconnects_that_cluster_only(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    """Seen from the simulator: after a refresh, east's requests come on a new TCP
    connection; west's and the control plane's pooled connections are untouched."""
    for _ in range(2):
        await gateway.probe("east")
        await gateway.probe("west")
        await gateway.record_health("east", READY)
    await gateway.refresh_connection("east")
    await gateway.probe("east")
    await gateway.probe("east")
    await gateway.probe("west")
    await gateway.record_health("east", READY)

    def connections(state: dict[str, Any]) -> list[str]:
        return [r["connection"] for r in state["requests"]]

    east = connections(await sim.admin.cluster("east"))
    assert east[0] == east[1] != east[2] == east[3]
    assert len(set(connections(await sim.admin.cluster("west")))) == 1
    assert len(set(connections(await sim.admin.control_plane()))) == 1
