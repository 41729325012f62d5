"""The fleet simulator itself: loopback only, token-guarded, Kubernetes-strict, and stops clean."""

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from strategies.adapters.http_gateway import HttpClusterGateway
from strategies.gateway import ClusterHealth
from strategies.simulator import (
    FaultMode,
    FleetSimulator,
    SimulatedCluster,
    SimulatorAdminError,
    SimulatorError,
)
from strategies.simulator.admin import AdminClient

SYNCTARGET = "/clusters/root:tmc/apis/tmc.kcp.io/v1alpha1/synctargets/east"
READY = ClusterHealth(True, "ClusterReachable", "readyz answered ok")


def port_is_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def bearer(sim: FleetSimulator, cluster: str | None = None) -> dict[str, str]:
    """The Authorization header for a cluster (or, without one, the control plane)."""
    endpoint = sim.fleet.control_plane if cluster is None else sim.fleet.cluster(cluster)
    token = endpoint.bearer_token()
    assert token is not None
    return {"Authorization": f"Bearer {token.get_secret_value()}"}


async def test_binds_loopback_and_closes_everything_on_exit() -> None:
    tasks_before = asyncio.all_tasks()
    async with FleetSimulator(["east"]) as sim:
        port, workdir = sim.port, sim.fleet_path.parent
        assert sim.host == "127.0.0.1"
        assert sim.url == f"http://127.0.0.1:{port}"
        assert not port_is_closed(port)
        assert (workdir / "tokens" / "east.token").stat().st_mode & 0o077 == 0
        await sim.admin.cluster("east")

    assert port_is_closed(port)
    assert not workdir.exists()
    assert asyncio.all_tasks() == tasks_before


async def test_stopping_releases_hanging_requests_promptly() -> None:
    async with FleetSimulator([SimulatedCluster("east", token=None)]) as sim:
        await sim.admin.set_fault("east", FaultMode.HANG)
        session = aiohttp.ClientSession()
        hanging = asyncio.create_task(session.get(f"{sim.server_url('east')}/readyz"))
        await asyncio.sleep(0.1)
        started = time.monotonic()

    assert time.monotonic() - started < 1.0
    response = await asyncio.wait_for(hanging, 1.0)
    assert response.status == 503
    response.release()
    await session.close()


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic xyz"])
async def test_the_admin_api_demands_the_admin_token(header: str | None) -> None:
    async with FleetSimulator(["east"]) as sim, aiohttp.ClientSession() as session:
        headers = {"Authorization": header} if header else {}
        for method, path in [
            ("GET", "/_sim/clusters/east"),
            ("POST", "/_sim/clusters/east/faults"),
            ("GET", "/_sim/controlplane"),
            ("POST", "/_sim/controlplane/faults"),
        ]:
            body = {"mode": "down"}
            async with session.request(
                method, f"{sim.url}{path}", json=body, headers=headers
            ) as response:
                assert response.status == 401, (method, path)
        assert (await sim.admin.cluster("east"))["fault"]["mode"] == "healthy"

        stranger = AdminClient(sim.url, "not-the-token")
        with pytest.raises(SimulatorAdminError, match="401"):
            await stranger.cluster("east")
        await stranger.aclose()


async def test_cluster_and_control_plane_demand_their_tokens(sim: FleetSimulator) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{sim.server_url('east')}/readyz") as response:
            assert response.status == 401
        async with session.get(f"{sim.url}{SYNCTARGET}") as response:
            assert response.status == 401
            status = await response.json()
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Unauthorized", 401)


async def test_the_admin_api_validates_faults(sim: FleetSimulator) -> None:
    headers = {"Authorization": f"Bearer {sim.admin_token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        url = f"{sim.url}/_sim/clusters/east/faults"
        async with session.post(url, json={"mode": "melt"}) as response:
            assert response.status == 400
            assert (await response.text()).startswith("mode: Input should be 'healthy'")
    with pytest.raises(SimulatorAdminError, match="for_requests: Input should be greater"):
        await sim.admin.set_fault("east", FaultMode.DOWN, for_requests=0)
    with pytest.raises(SimulatorAdminError, match="conflict applies to the control plane only"):
        await sim.admin.set_fault("east", FaultMode.CONFLICT)
    with pytest.raises(SimulatorAdminError, match="404"):
        await sim.admin.set_fault("atlantis", FaultMode.DOWN)


async def test_faults_wear_off_after_for_requests(sim: FleetSimulator) -> None:
    await sim.admin.set_fault("east", FaultMode.ERROR500, for_requests=2)
    async with aiohttp.ClientSession(headers=bearer(sim, "east")) as session:
        for _ in range(3):
            async with session.get(f"{sim.server_url('east')}/readyz"):
                pass

    state = await sim.admin.cluster("east")
    assert [r["status"] for r in state["requests"]] == [500, 500, 200]
    assert [r["fault"] for r in state["requests"]] == ["error500", "error500", "healthy"]
    assert state["fault"] == {
        "mode": "error500", "for_requests": 2, "delay_s": 1.0, "qps": 1.0,
        "retry_after": "seconds", "served": 2,
    }  # fmt: skip


async def test_status_writes_are_checked_like_the_api_server_does(sim: FleetSimulator) -> None:
    url = f"{sim.url}{SYNCTARGET}/status"
    ready = {"type": "Ready", "status": "True", "reason": "no spaces", "lastTransitionTime": "x"}
    bad_reason = {"status": {"conditions": [ready]}}
    cases = [
        ("application/json", {"status": {}}, 415, "UnsupportedMediaType"),
        ("application/merge-patch+json", {"metadata": {"resourceVersion": "0"}}, 409, "Conflict"),
        ("application/merge-patch+json", bad_reason, 422, "Invalid"),
    ]
    async with aiohttp.ClientSession(headers=bearer(sim)) as session:
        for content_type, patch, code, reason in cases:
            async with session.patch(
                url, data=json.dumps(patch), headers={"Content-Type": content_type}
            ) as response:
                assert (response.status, (await response.json())["reason"]) == (code, reason)

    assert (await sim.admin.cluster("east"))["health_updates"] == []


async def test_refuses_a_taken_port() -> None:
    async with FleetSimulator(["east"]) as first:
        with pytest.raises(SimulatorError, match=f"cannot listen on 127.0.0.1:{first.port}"):
            async with FleetSimulator(["east"], port=first.port):
                pass


def test_the_module_entry_serves_until_sigterm(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "strategies.simulator", "--clusters", "2"]
    with subprocess.Popen(
        [*command, "--workdir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    ) as process:
        try:
            assert process.stdout is not None
            banner = [process.stdout.readline() for _ in range(4)]
            port = int(banner[0].rsplit(":", 1)[1])
            assert banner[0].startswith("fleet simulator on http://127.0.0.1:")
            assert banner[3].strip() == "clusters: cluster-1, cluster-2"
            assert (tmp_path / "fleet.yaml").exists()
            assert not port_is_closed(port)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
    assert port_is_closed(port)


async def test_mutations_are_logged_per_cluster_with_wall_clock_times(
    sim: FleetSimulator, gateway: HttpClusterGateway
) -> None:
    await sim.admin.set_fault("east", FaultMode.HEALTHY)  # admin requests never count
    await gateway.probe("east")  # reads never count
    before = time.time()
    await gateway.record_health("east", READY)  # GET, then PATCH .../status
    after = time.time()

    mutations = await sim.admin.mutations("east")
    [patch] = mutations
    assert patch == {
        "time": patch["time"],
        "method": "PATCH",
        "path": f"{SYNCTARGET}/status",
        "status": 200,
    }
    assert before <= patch["time"] <= after
    state = await sim.admin.cluster("east")
    assert (state["mutations"], state["mutations_total"]) == (mutations, 1)
    assert await sim.admin.mutations("west") == []
    for request in [*state["requests"], *(await sim.admin.control_plane())["requests"]]:
        assert before - 5 <= request["time"] <= after, "request log times are wall-clock too"


async def test_rejected_and_unserved_mutations_are_logged_too(sim: FleetSimulator) -> None:
    status_url = f"{sim.url}{SYNCTARGET}/status"
    merge = {"Content-Type": "application/merge-patch+json"}
    body = json.dumps({"status": {}})
    async with aiohttp.ClientSession(headers=bearer(sim)) as session:
        await sim.admin.set_control_plane_fault(FaultMode.DOWN, for_requests=1)
        for method, url, headers in [
            ("PATCH", status_url, merge),  # the fault: 503
            ("PATCH", status_url, {**merge, "Authorization": "Bearer wrong"}),  # 401
            ("PATCH", status_url, {"Content-Type": "application/json"}),  # 415
            ("POST", f"{sim.server_url('east')}/metrics", merge),  # not served: 404
            ("DELETE", f"{sim.server_url('east')}/readyz", {}),  # 405
            ("PUT", f"{sim.server_url('west')}/logs/n1", merge),  # west's
        ]:
            async with session.request(method, url, data=body, headers=headers):
                pass
        await sim.admin.set_control_plane_fault(FaultMode.CONFLICT, for_requests=1)
        async with session.patch(status_url, data=body, headers=merge):
            pass

    east = await sim.admin.mutations("east")
    assert [(m["method"], m["status"]) for m in east] == [
        ("PATCH", 503),
        ("PATCH", 401),
        ("PATCH", 415),
        ("POST", 404),
        ("DELETE", 405),
        ("PATCH", 409),
    ]
    assert [m["time"] for m in east] == sorted(m["time"] for m in east)
    west = await sim.admin.mutations("west")
    assert [(m["method"], m["path"], m["status"]) for m in west] == [
        ("PUT", "/k8s/west/logs/n1", 404)
    ]


async def test_a_hung_mutation_is_logged_when_it_arrives(sim: FleetSimulator) -> None:
    await sim.admin.set_control_plane_fault(FaultMode.HANG)
    merge = {"Content-Type": "application/merge-patch+json"}
    async with aiohttp.ClientSession(headers=bearer(sim)) as session:
        sent = time.time()
        hung = asyncio.create_task(
            session.patch(f"{sim.url}{SYNCTARGET}/status", data="{}", headers=merge)
        )
        deadline = time.monotonic() + 5
        while not (mutations := await sim.admin.mutations("east")):
            assert time.monotonic() < deadline, "the hung PATCH was never logged"
            await asyncio.sleep(0.02)
        hung.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await hung

    assert [(m["method"], m["status"]) for m in mutations] == [("PATCH", None)]
    assert sent <= mutations[0]["time"] <= time.time()


async def test_unknown_clusters_mutations_are_a_404(sim: FleetSimulator) -> None:
    with pytest.raises(SimulatorAdminError, match="404"):
        await sim.admin.mutations("atlantis")
