"""A rollback awaiting approval survives its worker's crash: the restarted worker waits on
without asking again or acting, and an approval sent to it then lets the rollback run."""

import dataclasses
import signal
import uuid

import pytest

from schemas.records import ErrorType, RecoveryState
from strategies.gateway import Workspace
from strategies.resources import migration as migration_ref
from strategies.simulator import FaultMode, FleetSimulator
from streams.testing.harness import PipelineEnv, WorkerProcess, emit, wait_for_table
from tests.cli import run_cli_async
from tests.pipeline.test_durability import restarted
from tests.strategies.kube_objects import migration
from tests.strategies.scenario import error

pytestmark = pytest.mark.kafka
S = RecoveryState
TMC = Workspace("root:tmc")
ALICE = "alice-approver-0123456789"


async def test_a_crash_mid_wait_keeps_the_wait_and_the_approval_reaches_the_new_worker(
    env: PipelineEnv, fleet: FleetSimulator, start_worker, workers: list[WorkerProcess]
) -> None:
    await fleet.admin.put_object(TMC, migration("roll-a", "edge-1", "edge-2", "VolumesCopied"))
    await fleet.admin.set_fault("edge-2", FaultMode.DOWN)
    first = await start_worker(
        "w1",
        api={"tokens": {"alice": {"token": ALICE, "role": "approve"}}},
        execution={"approval": {"required_for": ["Migration"]}},
    ).ready()
    failed = error(ErrorType.MIGRATION_FAILURE, "edge-2", operation="cutover", migration="roll-a")
    await emit(
        env.bootstrap,
        env.topics["errors"],
        [dataclasses.replace(failed, event_id=str(uuid.uuid4()))],
    )
    (waiting,) = (
        await wait_for_table(
            env,
            lambda rows: any(r.state is S.AWAITING_APPROVAL for r in rows.values()),
            workers=(first,),
        )
    ).values()

    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    second = await restarted(first, workers, "w1-after-crash").ready()
    url = await second.api_url()
    approved = await run_cli_async(
        "recoveries", "approve", waiting.id, "--reason", "edge-2 is gone", "--api", url,
        env={"TMC_API_TOKEN": ALICE},
    )  # fmt: skip
    assert approved.returncode == 0, approved.stderr

    rows = await wait_for_table(
        env, lambda rows: rows[waiting.id].state.is_terminal, within_s=30, workers=(second,)
    )
    done = rows[waiting.id]
    assert done.state is S.COMPLETED, second.tail()
    assert done.transitions[: len(waiting.transitions)] == waiting.transitions
    states = [t.state for t in done.transitions]
    assert states.count(S.AWAITING_APPROVAL) == 1, "the new worker did not ask again"
    assert done.transitions[len(waiting.transitions)].reason == "approved by alice: edge-2 is gone"
    stored = await fleet.admin.get_object(TMC, migration_ref("roll-a"))
    assert stored["status"]["phase"] == "RolledBack"
