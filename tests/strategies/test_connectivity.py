"""ClusterConnectivity end to end: the strategy, the real HTTP adapter, the simulated fleet."""

import logging
import time
from typing import Any

import pytest

from schemas.records import ErrorType, TMCError
from strategies.base import ExecutionContext, RecoveryFailed
from strategies.builtin import ClusterConnectivityRecovery
from strategies.simulator import FaultMode, FleetSimulator
from tests.strategies.conftest import (
    HANG_PROBE_TIMEOUT_S,
    PROBE_TIMEOUT_S,
    attempt,
    unreachable,
)

RUN = ExecutionContext(recovery_id="ClusterConnectivity-east-test")
DRY_RUN = ExecutionContext(recovery_id="ClusterConnectivity-east-dry", dry_run=True)


def readiness(state: dict[str, Any]) -> list[str]:
    return [update["status"] for update in state["health_updates"]]


def connections(state: dict[str, Any]) -> list[str]:
    """The client end (host:port) of the TCP connection each request to a cluster came on."""
    return [request["connection"] for request in state["requests"]]


def test_declares_the_seed_defaults(strategy: ClusterConnectivityRecovery) -> None:
    assert strategy.name == "ClusterConnectivity"
    assert strategy.priority == 80
    assert strategy.timeout.total_seconds() == 300
    assert strategy.error_types == {
        ErrorType.CLUSTER_UNREACHABLE,
        ErrorType.CLUSTER_UNAVAILABLE,
        ErrorType.NETWORK_CONNECTIVITY,
    }


def test_recovers_only_errors_that_name_a_cluster(strategy: ClusterConnectivityRecovery) -> None:
    error = unreachable("east", ErrorType.NETWORK_CONNECTIVITY)
    assert strategy.can_recover(error)
    assert strategy.target(error) == "east"
    assert not strategy.can_recover(unreachable("east", ErrorType.SYNC_FAILURE))
    no_cluster = TMCError.build(ErrorType.CLUSTER_UNAVAILABLE, "syncer", "sync").build()
    assert not strategy.can_recover(no_cluster)


async def test_healthy_cluster_completes_and_records_ready_true(
    sim: FleetSimulator, strategy: ClusterConnectivityRecovery
) -> None:
    outcome = await strategy.execute(RUN, unreachable("east"), attempt("east"))

    assert outcome.success
    assert outcome.actions[0].startswith("probed cluster east readiness: healthy (200 OK")
    assert outcome.actions[-1] == "recorded Ready=True (ClusterReachable) for cluster east"
    assert "retry failed operations on cluster east" in outcome.next_steps
    assert outcome.metrics["probes"] == 1
    assert 0 < outcome.metrics["probe_latency_s"] < PROBE_TIMEOUT_S
    state = await sim.admin.cluster("east")
    assert readiness(state) == ["True"]
    assert state["health_updates"][0]["reason"] == "ClusterReachable"
    assert readiness(await sim.admin.cluster("west")) == []


async def test_down_cluster_fails_retryably_and_records_ready_false(
    sim: FleetSimulator, strategy: ClusterConnectivityRecovery
) -> None:
    await sim.admin.set_fault("east", FaultMode.DOWN)

    with pytest.raises(RecoveryFailed) as failed:
        await strategy.execute(RUN, unreachable("east"), attempt("east"))

    assert failed.value.retryable
    assert "still not ready after 3 probes" in str(failed.value)
    assert "503 Service Unavailable" in str(failed.value)
    assert "refreshed client connections to cluster east" in failed.value.actions
    assert failed.value.actions[-1] == "recorded Ready=False (ClusterNotReady) for cluster east"
    state = await sim.admin.cluster("east")
    assert readiness(state) == ["False"]
    assert [r["status"] for r in state["requests"]] == [503, 503, 503]
    first, *reprobes = connections(state)
    assert reprobes == [reprobes[0]] * 2, "the re-probes share the fresh connection"
    assert first != reprobes[0], "the re-probes came on a new connection (a refresh)"


async def test_failing_readyz_checks_are_reported(
    sim: FleetSimulator, strategy: ClusterConnectivityRecovery
) -> None:
    await sim.admin.set_fault("east", FaultMode.ERROR500)

    with pytest.raises(RecoveryFailed) as failed:
        await strategy.execute(RUN, unreachable("east"), attempt("east"))

    assert "[-]etcd failed: reason withheld" in str(failed.value)
    update = (await sim.admin.cluster("east"))["health_updates"][-1]
    assert update["status"] == "False"
    assert "etcd failed" in update["message"]


async def test_cluster_recovering_within_the_attempt_succeeds(
    sim: FleetSimulator, strategy: ClusterConnectivityRecovery
) -> None:
    await sim.admin.set_fault("east", FaultMode.DOWN, for_requests=2)

    outcome = await strategy.execute(RUN, unreachable("east"), attempt("east"))

    assert outcome.success
    assert outcome.metrics["probes"] == 3
    assert outcome.metrics["connection_refreshes"] == 1
    state = await sim.admin.cluster("east")
    assert readiness(state) == ["True"]
    assert state["connections"] == 2


async def test_a_healthy_cluster_keeps_its_pooled_connection(
    sim: FleetSimulator, strategy: ClusterConnectivityRecovery
) -> None:
    """The control for the refresh tests: without a refresh, requests share one connection."""
    for number in (1, 2, 3):
        outcome = await strategy.execute(RUN, unreachable("east"), attempt("east", number))
        assert outcome.metrics["connection_refreshes"] == 0

    state = await sim.admin.cluster("east")
    assert len(connections(state)) == 3
    assert state["connections"] == 1


async def test_an_unready_cluster_is_reprobed_on_a_new_connection(
    sim: FleetSimulator, strategy: ClusterConnectivityRecovery
) -> None:
    """The refresh really happens, through the adapter, before the re-probe: the simulator
    sees the re-probe arrive on another TCP connection than the probes before it."""
    await strategy.execute(RUN, unreachable("east"), attempt("east", 1))  # pools a connection
    await sim.admin.set_fault("east", FaultMode.DOWN, for_requests=1)

    outcome = await strategy.execute(RUN, unreachable("east"), attempt("east", 2))

    assert outcome.success
    state = await sim.admin.cluster("east")
    assert [r["status"] for r in state["requests"]] == [200, 503, 200]
    pooled, stale, fresh = connections(state)
    assert stale == pooled, "the unready probe reused the pooled connection"
    assert fresh != stale, "the re-probe came after a refresh, on a new connection"
    assert state["connections"] == 2
    assert (await sim.admin.cluster("west"))["connections"] == 0


async def test_cluster_recovering_later_succeeds_on_retry(
    sim: FleetSimulator, strategy: ClusterConnectivityRecovery
) -> None:
    await sim.admin.set_fault("east", FaultMode.DOWN, for_requests=4)

    with pytest.raises(RecoveryFailed):
        await strategy.execute(RUN, unreachable("east"), attempt("east", 1))
    outcome = await strategy.execute(RUN, unreachable("east"), attempt("east", 2))

    assert outcome.success
    state = await sim.admin.cluster("east")
    assert readiness(state) == ["False", "True"]
    ready = state["sync_target"]["status"]["conditions"]
    assert {c["type"]: c["status"] for c in ready} == {"HeartbeatHealthy": "True", "Ready": "True"}


async def test_flapping_cluster_is_caught_on_a_good_probe(
    sim: FleetSimulator, strategy: ClusterConnectivityRecovery
) -> None:
    await sim.admin.set_fault("east", FaultMode.FLAP)

    outcome = await strategy.execute(RUN, unreachable("east"), attempt("east"))

    assert outcome.success
    statuses = [r["status"] for r in (await sim.admin.cluster("east"))["requests"]]
    assert statuses == [503, 200]


async def test_hanging_cluster_fails_within_the_probe_timeouts(
    sim: FleetSimulator, impatient_strategy: ClusterConnectivityRecovery
) -> None:
    await sim.admin.set_fault("east", FaultMode.HANG)

    started = time.monotonic()
    with pytest.raises(RecoveryFailed) as failed:
        await impatient_strategy.execute(RUN, unreachable("east"), attempt("east"))
    elapsed = time.monotonic() - started

    # Three hung probes, each cut at the timeout: bounded, although the hang never ends.
    assert 3 * HANG_PROBE_TIMEOUT_S <= elapsed < 3 * HANG_PROBE_TIMEOUT_S + 3.0
    assert failed.value.retryable
    assert f"within {HANG_PROBE_TIMEOUT_S} s" in str(failed.value)
    update = (await sim.admin.cluster("east"))["health_updates"][-1]
    assert (update["status"], update["reason"]) == ("False", "ClusterUnreachable")


async def test_dry_run_probes_but_changes_nothing(
    sim: FleetSimulator, strategy: ClusterConnectivityRecovery
) -> None:
    await sim.admin.set_fault("east", FaultMode.DOWN)

    outcome = await strategy.execute(DRY_RUN, unreachable("east"), attempt("east"))

    assert outcome.success
    assert outcome.message.startswith("dry run: cluster east is not ready")
    assert outcome.actions[0].startswith("probed cluster east readiness: unhealthy (503")
    assert outcome.actions[1:] == (
        "would refresh client connections to cluster east",
        "would re-probe cluster east up to 2 times",
        "would record Ready=True if a re-probe succeeds, else Ready=False (ClusterNotReady)",
    )
    assert (await sim.admin.cluster("east"))["health_updates"] == []
    assert (await sim.admin.control_plane())["requests"] == []


async def test_dry_run_on_a_healthy_cluster_plans_the_health_write(
    sim: FleetSimulator, strategy: ClusterConnectivityRecovery
) -> None:
    outcome = await strategy.execute(DRY_RUN, unreachable("east"), attempt("east"))

    assert outcome.actions[1:] == ("would record Ready=True (ClusterReachable) for cluster east",)
    assert (await sim.admin.control_plane())["requests"] == []


async def test_unknown_cluster_is_not_retryable(strategy: ClusterConnectivityRecovery) -> None:
    with pytest.raises(RecoveryFailed) as failed:
        await strategy.execute(RUN, unreachable("nowhere"), attempt("nowhere"))

    assert not failed.value.retryable
    assert "'nowhere' is not in the fleet description" in str(failed.value)


async def test_healthy_cluster_but_control_plane_down_fails_retryably(
    sim: FleetSimulator, strategy: ClusterConnectivityRecovery
) -> None:
    await sim.admin.set_control_plane_fault(FaultMode.DOWN)

    with pytest.raises(RecoveryFailed) as failed:
        await strategy.execute(RUN, unreachable("east"), attempt("east"))

    assert failed.value.retryable
    assert "could not finish recovering cluster east" in str(failed.value)
    assert "503" in str(failed.value)
    assert failed.value.actions[0].startswith("probed cluster east readiness: healthy")


async def test_tokens_never_reach_logs_outcomes_or_errors(
    sim: FleetSimulator,
    strategy: ClusterConnectivityRecovery,
    impatient_strategy: ClusterConnectivityRecovery,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = [sim.fleet.cluster(name).bearer_token() for name in sim.clusters]
    tokens.append(sim.fleet.control_plane.bearer_token())
    secrets = [token.get_secret_value() for token in tokens if token is not None]
    assert len(secrets) == 3

    texts = [repr(sim.fleet), str(sim.fleet.cluster("east")), repr(tokens)]
    outcome = await strategy.execute(RUN, unreachable("east"), attempt("east"))
    texts.append(repr(outcome))
    for mode in (FaultMode.HANG, FaultMode.DOWN):
        await sim.admin.set_fault("west", mode)
        with pytest.raises(RecoveryFailed) as failed:
            await impatient_strategy.execute(RUN, unreachable("west"), attempt("west"))
        texts += [str(failed.value), repr(failed.value.actions), repr(failed.value.__cause__)]
    await sim.admin.set_control_plane_fault(FaultMode.ERROR500)
    with pytest.raises(RecoveryFailed) as failed:
        await strategy.execute(RUN, unreachable("east"), attempt("east"))
    texts += [str(failed.value), repr(failed.value.__cause__)]
    logging.getLogger("test").exception("logged with traceback", exc_info=failed.value)

    everything = "\n".join([*texts, caplog.text])
    assert "Bearer" not in everything
    for secret in secrets:
        assert secret not in everything
