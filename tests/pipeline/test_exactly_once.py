"""The exactly_once processing guarantee works end to end on the real broker."""

import pytest

from schemas.records import RecoveryState
from tests.pipeline.harness import PipelineEnv, emit, unreachable, wait_for_table

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
