"""The exactly_once processing guarantee works end to end on the real broker."""

import pytest

from schemas.records import RecoveryResult, RecoveryState
from streams.testing.harness import PipelineEnv, WorkerProcess, emit, unreachable, wait_for_table

pytestmark = pytest.mark.kafka
S = RecoveryState


async def test_exactly_once_end_to_end(env: PipelineEnv, start_worker) -> None:
    worker = await start_worker("eos", kafka={"processing_guarantee": "exactly_once"}).ready()
    errors = [unreachable("edge-1"), unreachable("edge-2"), unreachable("edge-1")]
    await emit(env.bootstrap, env.topics["errors"], errors)
    rows = await wait_for_table(
        env,
        lambda rows: len(rows) == 2 and all(r.state.is_terminal for r in rows.values()),
        workers=(worker,),
    )
    assert {r.state for r in rows.values()} == {S.COMPLETED}
    assert sum(r.merged_count for r in rows.values()) == 1
    assert "Traceback" not in worker.text(), worker.tail()


async def test_a_restart_under_exactly_once_catches_up_past_commit_markers(
    env: PipelineEnv, start_worker, workers: list[WorkerProcess]
) -> None:
    """The last stable offset ends in a commit marker, which is never delivered: the new
    owner must still see itself caught up, resume nothing ended and act on new errors."""
    eos = {"kafka": {"processing_guarantee": "exactly_once"}}
    first = await start_worker("eos", **eos).ready()
    await emit(env.bootstrap, env.topics["errors"], [unreachable("edge-1")])
    await wait_for_table(env, lambda rows: _all_completed(rows, 1), workers=(first,))
    assert first.stop() == 0, first.tail()

    second = WorkerProcess(first.config, first.log.with_name("eos-again.log"))
    workers.append(second.start())
    await second.ready()
    await second.wait_for_log("resumed 0 recoveries", within_s=30)
    await emit(env.bootstrap, env.topics["errors"], [unreachable("edge-2")])
    rows = await wait_for_table(env, lambda rows: _all_completed(rows, 2), workers=(second,))
    assert len(rows) == 2
    assert "Traceback" not in second.text(), second.tail()


def _all_completed(rows: dict[str, RecoveryResult], count: int) -> bool:
    return len(rows) == count and all(r.state is S.COMPLETED for r in rows.values())
