"""Fleet blast radius and storm mode on real workers (streams/admission/): a paused or capped
recovery shows as Waiting; the fleet cap holds across two workers racing; a storm over most
of a 20-cluster fleet escalates once, runs no connectivity recovery while it lasts, and
service resumes after the cooldown."""

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from schemas.records import RecoveryState
from strategies.simulator import FleetSimulator
from strategies.simulator.faults import FaultMode
from streams.admission.book import STORM_REASON
from streams.admission.records import STORM_KEY, Storm
from streams.testing.harness import (
    PipelineEnv,
    WorkerProcess,
    emit,
    read_topic,
    unreachable,
    wait_for_table,
)
from streams.testing.overlap import first_attempt, most_at_once
from tests.api.conftest import get, http
from tests.pipeline.test_pause import ALICE, flip

__all__ = ["http"]
pytestmark = pytest.mark.kafka
S = RecoveryState


def admission(**overrides: Any) -> dict[str, Any]:
    return {"admission": {"enabled": True, "tick_s": 0.2, **overrides}}


async def test_a_paused_recovery_shows_as_waiting_on_status(
    env: PipelineEnv, start_worker, http: aiohttp.ClientSession
) -> None:
    tokens = {"alice": {"token": ALICE, "role": "operate"}}
    worker = start_worker("w1", api={"tokens": tokens}, **admission())
    url = await worker.api_url()
    await worker.ready()
    await flip(url, "pause", "--reason", "maintenance")
    await emit(env.bootstrap, env.topics["errors"], [unreachable("edge-1")])
    for _ in range(80):
        status, view = await get(http, f"{url}/status")
        if [d["state"] for d in view["activeRecoveryDetails"]] == ["Waiting"]:
            break
        await asyncio.sleep(0.25)
    assert [d["state"] for d in view["activeRecoveryDetails"]] == ["Waiting"], view
    assert view["activeRecoveries"] == 1
    status, listed = await get(http, f"{url}/recoveries", state="Waiting")
    assert status == 200
    (row,) = listed["recoveries"] if isinstance(listed, dict) else listed
    assert row["target"] == "edge-1"
    assert row["transitions"][-1]["reason"].startswith("held: fleet paused by alice at ")
    await flip(url, "resume", "--reason", "done")
    rows = await wait_for_table(
        env, lambda rows: all(r.state.is_terminal for r in rows.values()), 20, (worker,)
    )
    (done,) = rows.values()
    assert done.state is S.COMPLETED
    assert [t.state for t in done.transitions][:3] == [S.PENDING, S.WAITING, S.IN_PROGRESS]


async def test_the_fleet_cap_holds_across_two_workers(
    env: PipelineEnv, fleet: FleetSimulator, start_worker
) -> None:
    clusters = [f"edge-{i}" for i in range(1, 7)]
    for cluster in clusters:  # each recovery takes a while, so they would overlap uncapped
        await fleet.admin.set_fault(cluster, FaultMode.SLOW, delay_s=0.5)
    config = admission(max_clusters="2", storm_error_types=[])
    one, two = start_worker("w1", **config), start_worker("w2", **config)
    await one.ready()
    await two.ready()
    await emit(env.bootstrap, env.topics["errors"], [unreachable(c) for c in clusters])
    rows = await wait_for_table(
        env,
        lambda rows: len(rows) == 6 and all(r.state.is_terminal for r in rows.values()),
        35, (one, two),
    )  # fmt: skip
    assert {r.state for r in rows.values()} == {S.COMPLETED}
    assert most_at_once(list(rows.values())) <= 2, "never three at once"
    # The cap was reached: these waited on "2/2" (on a loaded machine the rows' own times
    # need not overlap, as grants come before InProgress and releases after the end).
    waited = [r for r in rows.values() if S.WAITING in {t.state for t in r.transitions}]
    assert waited, "some waited for the cap"
    assert all(
        (t.reason or "").startswith("waiting: fleet cap 2/2 clusters under recovery")
        for r in waited for t in r.transitions if t.state is S.WAITING
    )  # fmt: skip
    assert "ClusterConnectivity-" in one.text(), "both workers ran recoveries"
    assert "ClusterConnectivity-" in two.text(), "both workers ran recoveries"
    owners = [w for w in (one, two) if "admission: owner now" in w.text()]
    assert owners, "one of them granted"


async def storms(env: PipelineEnv) -> list[Storm]:
    records = await read_topic(env.bootstrap, env.topics["grants"], env.partitions)
    return [Storm.decode(v) for k, v, _ in records if k == STORM_KEY.encode() and v]


async def test_a_storm_escalates_once_and_holds_connectivity_recoveries(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    names = [f"sim-{i:02d}" for i in range(20)]
    down = names[:16]  # 80% of the fleet
    async with FleetSimulator(names) as fleet:
        env = PipelineEnv(kafka_bootstrap, fleet.fleet_path, tmp_path)
        config = env.config(
            "w1",
            retry={"base_delay_s": 1.0, "max_delay_s": 1.0},
            **admission(max_clusters="3", storm_window_s=6, storm_cooldown_s=2),
        )
        worker = WorkerProcess(config, tmp_path / "w1.log").start()
        try:
            await worker.ready()
            for name in down:
                await fleet.admin.set_fault(name, FaultMode.DOWN)
            await emit(env.bootstrap, env.topics["errors"], [unreachable(n) for n in down])
            for _ in range(80):
                if await storms(env):
                    break
                await asyncio.sleep(0.1)
            (on,) = await storms(env)
            assert on.on
            assert on.reason.startswith(STORM_REASON)
            for name in down:
                await fleet.admin.set_fault(name, FaultMode.HEALTHY)
            rows = await wait_for_table(
                env,
                lambda rows: len(rows) == 16 and all(r.state.is_terminal for r in rows.values()),
                35, (worker,),
            )  # fmt: skip
        finally:
            worker.stop()
        on, off = await storms(env)
    escalated = [r for r in rows.values() if r.state is S.ESCALATED]
    assert len(escalated) == 1, [r.transitions[-1].reason for r in escalated]
    assert (escalated[0].transitions[-1].reason or "").startswith(STORM_REASON)
    assert escalated[0].context.metadata["gate"] == "storm"
    assert {r.state for r in rows.values()} == {S.COMPLETED, S.ESCALATED}
    assert (on.on, off.on) == (True, False)
    runs = [t.at.timestamp() for r in rows.values() for t in r.transitions]
    attempts = [
        t.at.timestamp() for r in rows.values() for t in r.transitions if t.state is S.IN_PROGRESS
    ]
    assert runs, "recoveries ran"
    assert not [at for at in attempts if on.since <= at < off.since], "none ran in the storm"
    before = {
        r.target for r in rows.values() if (first_attempt(r) or datetime.max).timestamp() < on.since
    }
    assert len(before) <= 3, f"no more than the cap started before the storm: {before}"
    assert most_at_once(list(rows.values())) <= 3
    held = [
        t
        for r in rows.values()
        for t in r.transitions
        if (t.reason or "").startswith("waiting: storm")
    ]
    assert held, "held recoveries waited, visibly"
