"""Stale errors on a real worker against the simulated fleet: an error an hour old (a backlog
after an outage) is re-verified before anything acts. A healthy cluster's recovery completes
without a single write; a cluster still broken is healed; a strategy that cannot re-verify
escalates; a fresh error is acted on as always. Each stale one is counted on /metrics."""

import dataclasses
from datetime import timedelta

import aiohttp
import pytest

from schemas.records import ErrorType, RecoveryResult, RecoveryState, TMCError, utc_now
from strategies.simulator import FaultMode, FleetSimulator
from streams.execution.stale import GONE, UNVERIFIABLE
from streams.testing.harness import PipelineEnv, emit, unreachable, wait_for_table
from tests.api.conftest import http

__all__ = ["http"]
pytestmark = pytest.mark.kafka
S = RecoveryState


def an_hour_old(error: TMCError) -> TMCError:
    return dataclasses.replace(error, timestamp=utc_now() - timedelta(hours=1))


def of(rows: dict[str, RecoveryResult], cluster: str) -> RecoveryResult:
    (row,) = [row for row in rows.values() if row.error.cluster_name == cluster]
    return row


async def test_stale_errors_are_re_verified_before_acting(
    env: PipelineEnv, fleet: FleetSimulator, start_worker, http: aiohttp.ClientSession
) -> None:
    worker = start_worker("w1", execution={"stale_after_s": 600})
    url = await worker.api_url()
    await worker.ready()
    await fleet.admin.set_fault("edge-2", FaultMode.DOWN, for_requests=1)  # the verify's probe
    errors = [
        an_hour_old(unreachable("edge-1")),  # healthy by now
        an_hour_old(unreachable("edge-2")),  # still down when re-verified
        an_hour_old(unreachable("edge-3", ErrorType.CLUSTER_AUTHENTICATION)),  # cannot tell
        unreachable("edge-4"),  # fresh
    ]
    await emit(env.bootstrap, env.topics["errors"], errors)
    clusters = ("edge-1", "edge-2", "edge-3", "edge-4")
    rows = await wait_for_table(
        env,
        lambda rows: sum(r.state.is_terminal for r in rows.values()) == len(clusters),
        within_s=60, workers=(worker,),
    )  # fmt: skip
    healthy, broken, unverifiable, fresh = (of(rows, cluster) for cluster in clusters)

    assert healthy.state is S.COMPLETED
    assert healthy.result is not None
    assert healthy.result.message.startswith(f"{GONE}: cluster edge-1 is reachable and ready")
    started = healthy.transitions[1].reason or ""
    assert started.startswith("re-verifying a stale error (36"), started
    assert started.endswith("over 600 s)"), "the configured limit"
    assert await fleet.admin.mutations("edge-1") == [], "nothing was written for it"

    assert broken.state is S.COMPLETED
    assert broken.result is not None
    assert broken.result.actions[0].startswith("re-verified a stale error")
    assert "fault still present: cluster edge-2 is not ready" in broken.result.actions[0]
    assert "recorded Ready=True (ClusterReachable) for cluster edge-2" in broken.result.actions
    assert await fleet.admin.mutations("edge-2"), "healed: its SyncTarget was written"

    assert unverifiable.state is S.ESCALATED
    assert UNVERIFIABLE in (unverifiable.transitions[-1].reason or "")
    assert await fleet.admin.mutations("edge-3") == []

    assert fresh.state is S.COMPLETED
    assert fresh.result is not None
    assert not any("stale" in action for action in fresh.result.actions)

    async with http.get(f"{url}/metrics") as reply:
        metrics = await reply.text()
    assert 'tmc_stale_errors_total{strategy="ClusterConnectivity"} 2.0' in metrics
    assert 'tmc_stale_errors_total{strategy="ClusterAuth"} 1.0' in metrics
