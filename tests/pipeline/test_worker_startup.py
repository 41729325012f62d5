"""A worker that cannot start says why in one line and exits 2; it never corrupts topics."""

import json
import signal
from collections.abc import Callable

import pytest
from aiokafka.admin import NewTopic

from schemas.records import RecoveryState
from streams.testing.harness import (
    PipelineEnv,
    WorkerProcess,
    create_topics,
    emit,
    unreachable,
    wait_for_table,
)
from tests.cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.kafka


async def test_wrong_partition_count_refuses_to_start(env: PipelineEnv) -> None:
    await create_topics(env.bootstrap, [NewTopic(env.topics["results"], 1, 1)])
    result = run_cli("worker", "-c", str(env.config("w1")), timeout=120)
    assert_one_line_error(result, env.topics["results"], "has 1 partitions", "says 3")


def test_unreachable_broker(env: PipelineEnv) -> None:
    config = env.config("w1", kafka={"bootstrap_servers": "127.0.0.1:1"})
    result = run_cli("worker", "-c", str(config), timeout=120)
    assert_one_line_error(result, "cannot manage topics on 127.0.0.1:1")


def test_missing_fleet_file(env: PipelineEnv) -> None:
    config = env.config("w1", fleet_file=None)
    result = run_cli("worker", "-c", str(config))
    assert_one_line_error(result, "fleet_file (env TMC_FLEET_FILE) is required")


def test_bad_value_names_the_field(env: PipelineEnv) -> None:
    config = env.config("w1", execution={"max_concurrent": 0})
    result = run_cli("worker", "-c", str(config))
    assert_one_line_error(result, "execution.max_concurrent (env TMC_EXECUTION__MAX_CONCURRENT)")


def test_blank_instance_id_is_refused(env: PipelineEnv) -> None:
    result = run_cli("worker", "-c", str(env.config("w1")), "--instance-id", " ")
    assert_one_line_error(
        result, "kafka.instance_id (env TMC_KAFKA__INSTANCE_ID)", "must not be blank"
    )


def test_default_looking_instance_id_is_refused(env: PipelineEnv) -> None:
    config = env.config("w1", kafka={"instance_id": "tmc-recovery"})
    result = run_cli("worker", "-c", str(config))
    assert_one_line_error(result, "kafka.instance_id", "looks like a default")


async def test_an_instance_id_held_by_a_running_worker_is_refused(
    env: PipelineEnv, start_worker: Callable[..., WorkerProcess]
) -> None:
    first = await start_worker("w1", kafka={"instance_id": "worker-1"}).ready()
    result = run_cli("worker", "-c", str(env.config("w2")), "--instance-id", "worker-1")
    assert_one_line_error(result, "'worker-1' is already held by a live member", "group")
    assert first.proc is not None
    assert first.proc.poll() is None, "the holder keeps running"


async def test_a_static_member_restarted_after_sigkill_rejoins_without_a_rebalance(
    env: PipelineEnv, start_worker: Callable[..., WorkerProcess]
) -> None:
    """Same instance id, same host, dead predecessor: allowed, and the broker hands the
    partitions straight back (generation 1, no rebalance) instead of waiting out the
    session timeout; the restarted worker serves errors."""
    # The restart must rejoin within the session timeout: the harness's 6 s is about what a
    # cold start takes under coverage (config and silences read before the join included).
    static = {"instance_id": "worker-1", "session_timeout_s": 30}
    worker = await start_worker("w1", kafka=static).ready()
    assert "(generation 1)" in worker.text()
    worker.stop(signal.SIGKILL)
    mark = len(worker.text())
    restarted = start_worker("w1", kafka=static)
    await restarted.wait_for_log("[^Worker]: Ready", after=mark)
    joined = [line for line in restarted.text()[mark:].splitlines() if "Joined group" in line]
    assert len(joined) == 1, joined
    assert "(generation 1)" in joined[0], joined
    error = unreachable("edge-1")
    await emit(env.bootstrap, env.topics["errors"], [error])
    await wait_for_table(
        env,
        lambda rows: any(
            r.error.event_id == error.event_id and r.state is RecoveryState.COMPLETED
            for r in rows.values()
        ),
        workers=(restarted,),
    )


async def test_the_ready_file_appears_once_serving_and_goes_at_stop(
    env: PipelineEnv, start_worker: Callable[..., WorkerProcess]
) -> None:
    ready_file = env.workdir / "run" / "ready"
    ready_file.parent.mkdir()
    ready_file.write_text("stale, from a killed worker\n")
    worker = start_worker("w1", ready_file=str(ready_file))
    await worker.wait_for_log("worker ready: ")
    content = json.loads(ready_file.read_text())
    assert worker.proc is not None
    assert content["pid"] == worker.proc.pid
    assert "caught up" in content["detail"]
    assert worker.stop() == 0
    assert not ready_file.exists()
