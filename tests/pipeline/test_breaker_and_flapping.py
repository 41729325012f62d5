"""The circuit breaker and flap damping on a real worker, against the fleet simulator.

The breaker: a cluster whose API is down fails two recoveries in a row and the breaker of
(ClusterConnectivity, cluster) opens; the next error escalates at once ("circuit open") and
nothing writes to the cluster; after the reset it half-opens, one trial recovery runs on the
healed cluster and completes, and the breaker closes. Flapping: a cluster that is healed and
breaks again each time is recovered three times, then escalated as a recovery loop."""

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from schemas.records import RecoveryResult, RecoveryState
from strategies.simulator import FleetSimulator
from strategies.simulator.faults import FaultMode
from streams.testing.harness import (
    PipelineEnv,
    WorkerProcess,
    emit,
    status_table,
    unreachable,
    wait_for_table,
)
from tests.api.conftest import get, http

__all__ = ["http"]
pytestmark = pytest.mark.kafka
S = RecoveryState
CONNECTIVITY = "ClusterConnectivity"


def acted(row: RecoveryResult) -> bool:
    return any(t.state is S.IN_PROGRESS for t in row.transitions)


def reason(row: RecoveryResult) -> str:
    return row.transitions[-1].reason or ""


async def recover_once(
    env: PipelineEnv, worker: WorkerProcess, cluster: str, before: int
) -> RecoveryResult:
    """Emit an error for ``cluster`` and return the recovery it starts once that has ended.
    With no cooldown only an error triaged before the last recovery's ending reached triage
    merges into it; then the error is sent again, after a few seconds without a new row."""
    for _ in range(5):
        await emit(env.bootstrap, env.topics["errors"], [unreachable(cluster)])
        if await new_row(env, before, within_s=3):
            break
    rows = await wait_for_table(
        env,
        lambda rows: len(rows) > before and all(r.state.is_terminal for r in rows.values()),
        within_s=20, workers=(worker,),
    )  # fmt: skip
    (new,) = sorted(rows.values(), key=lambda r: r.start_time)[before:]
    return new


async def new_row(env: PipelineEnv, before: int, within_s: float) -> bool:
    """Whether the status table holds more than ``before`` rows within ``within_s``."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if len(await status_table(env)) > before:
            return True
        await asyncio.sleep(0.2)
    return False


async def samples(http: aiohttp.ClientSession, url: str) -> dict[tuple[str, str], float]:
    """(name, labels) -> value of every sample on /metrics, labels as ``k=v,…``."""
    async with http.get(f"{url}/metrics") as reply:
        text = await reply.text()
    return {
        (sample.name, ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def breaker_view(http: aiohttp.ClientSession, url: str, cluster: str) -> list[Any]:
    status, view = await get(http, f"{url}/clusters/{cluster}")
    assert status == 200, view
    breakers: list[Any] = view["circuit_breakers"]
    return breakers


async def test_circuit_opens_escalates_at_once_half_opens_and_closes_on_a_success(
    env: PipelineEnv, fleet: FleetSimulator, start_worker, http: aiohttp.ClientSession
) -> None:
    reset_s = 5.0
    worker = start_worker(
        "w1",
        dedup={"cooldown_s": 0},
        circuit_breaker={"failure_threshold": 2, "reset_timeout_s": reset_s},
        strategies={CONNECTIVITY: {"max_attempts": 1}},
    )
    url = await worker.api_url()
    await worker.ready()
    await fleet.admin.set_fault("edge-1", FaultMode.DOWN)

    failures = [await recover_once(env, worker, "edge-1", before=n) for n in range(2)]
    assert [(r.state, acted(r)) for r in failures] == [(S.ESCALATED, True)] * 2
    assert await breaker_view(http, url, "edge-1") != []
    touched = len(await fleet.admin.mutations("edge-1"))
    assert touched > 0, "the failed recoveries did act on the cluster"

    refused = await recover_once(env, worker, "edge-1", before=2)
    assert refused.state is S.ESCALATED
    assert not acted(refused), "no attempt ran"
    assert refused.strategy == CONNECTIVITY
    assert reason(refused).startswith(
        "circuit open: ClusterConnectivity on cluster edge-1 after 2 failed recoveries in a row;"
    ), reason(refused)
    assert len(await fleet.admin.mutations("edge-1")) == touched, "nothing touched the cluster"
    (view,) = await breaker_view(http, url, "edge-1")
    assert (view["strategy"], view["consecutive_failures"]) == (CONNECTIVITY, 2)
    assert view["state"] in {"open", "half-open"}  # half-open by the clock, if slow here
    opened = time.mktime(time.strptime(view["opened_at"][:19], "%Y-%m-%dT%H:%M:%S"))
    half = time.mktime(time.strptime(view["half_opens_at"][:19], "%Y-%m-%dT%H:%M:%S"))
    assert half - opened == reset_s
    assert failures[1].end_time is not None
    assert view["opened_at"] == failures[1].end_time.isoformat(timespec="seconds")
    metrics = await samples(http, url)
    assert metrics[("tmc_triage_gate_escalations_total", "gate=circuit_open")] == 1
    gauge = "tmc_circuit_breakers"
    open_now = metrics[(gauge, f"state=open,strategy={CONNECTIVITY}")]
    half_now = metrics[(gauge, f"state=half-open,strategy={CONNECTIVITY}")]
    assert open_now + half_now == 1
    assert metrics[(gauge, "state=open,strategy=Generic")] == 0

    await fleet.admin.set_fault("edge-1", FaultMode.HEALTHY)
    deadline = time.monotonic() + reset_s + 10
    while (await breaker_view(http, url, "edge-1"))[0]["state"] != "half-open":
        assert time.monotonic() < deadline, "it never half-opened"
        await asyncio.sleep(0.2)
    trial = await recover_once(env, worker, "edge-1", before=3)
    assert (trial.state, acted(trial)) == (S.COMPLETED, True), reason(trial)
    assert len(await fleet.admin.mutations("edge-1")) > touched, "the trial acted"
    deadline = time.monotonic() + 10
    while await breaker_view(http, url, "edge-1"):  # closed, nothing counted: no breaker
        assert time.monotonic() < deadline, "it never closed"
        await asyncio.sleep(0.2)
    after = await recover_once(env, worker, "edge-1", before=4)
    assert (after.state, acted(after)) == (S.COMPLETED, True), "closed: recoveries run again"


async def test_a_flapping_cluster_is_escalated_as_a_recovery_loop_after_k_recoveries(
    env: PipelineEnv, fleet: FleetSimulator, start_worker, http: aiohttp.ClientSession
) -> None:
    worker = start_worker(
        "w1",
        dedup={"cooldown_s": 0},
        flap_damping={"max_recoveries": 3, "window_s": 600, "healthy_delay_s": 300},
    )
    url = await worker.api_url()
    await worker.ready()

    recovered = []
    for n in range(3):  # down for one probe: the recovery heals it, then it breaks again
        await fleet.admin.set_fault("edge-2", FaultMode.DOWN, for_requests=1)
        recovered.append(await recover_once(env, worker, "edge-2", before=n))
    assert [(r.state, acted(r)) for r in recovered] == [(S.COMPLETED, True)] * 3
    touched = len(await fleet.admin.mutations("edge-2"))

    await fleet.admin.set_fault("edge-2", FaultMode.DOWN, for_requests=1)
    looped = await recover_once(env, worker, "edge-2", before=3)
    assert (looped.state, acted(looped), looped.strategy) == (S.ESCALATED, False, CONNECTIVITY)
    assert reason(looped) == (
        "recovery loop: ClusterConnectivity recovered edge-2 3 times within 600s, and each time "
        "it broke again within 300s; no more automatic recoveries until that window has passed"
    )
    again = await recover_once(env, worker, "edge-2", before=4)
    assert (again.state, acted(again)) == (S.ESCALATED, False), "it stays escalated"
    assert len(await fleet.admin.mutations("edge-2")) == touched, "nothing touched it since"
    other = await recover_once(env, worker, "edge-3", before=5)
    assert (other.state, acted(other)) == (S.COMPLETED, True), "other clusters recover as before"
    metrics = await samples(http, url)
    assert metrics[("tmc_triage_gate_escalations_total", "gate=recovery_loop")] == 2
