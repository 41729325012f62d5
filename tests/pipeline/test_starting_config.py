"""The starting-config gate on a real worker: a strategy disabled by `config apply` does not act
after a restart, not even on an error that waits on the topic when the worker comes back.

The config topic holds many earlier applies that enable the strategy (compaction has not run
yet), so reading it to the end takes the restarted worker a while: without the gate, triage
would route the waiting error with one of them, and the executor would run it; and a follower
that put them in force again when it goes on reading after the start would do the same. With
the gate, the worker joins only once the last apply is in force, and the error is escalated
untouched."""

from pathlib import Path

import pytest

from schemas.records import RecoveryState
from streams.runtime_config.gate import HOLD
from streams.runtime_config.record import KEY, Applied
from streams.testing.harness import (
    PipelineEnv,
    WorkerProcess,
    emit,
    produce,
    unreachable,
    wait_for_table,
)
from tests.cli import run_cli
from tests.pipeline.test_config_apply import DISABLED, _ended, _file

pytestmark = pytest.mark.kafka
EARLIER_APPLIES = 1500


async def test_a_restarted_worker_acts_only_once_the_applied_config_is_in_force(
    env: PipelineEnv, start_worker, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    first = await start_worker("w1").ready()
    enabling = Applied({"strategies": {"ClusterConnectivity": {"enabled": True}}}, by="earlier")
    topic = env.topics["runtime_config"]
    await produce(env.bootstrap, topic, [(KEY, enabling.value())] * EARLIER_APPLIES)
    applied = run_cli(
        "config", "apply", _file(tmp_path, "off.yaml", DISABLED), "-c", str(first.config)
    )
    assert applied.returncode == 0, applied.stderr
    assert first.stop() == 0, first.tail()

    await emit(env.bootstrap, env.topics["errors"], [unreachable("edge-1")])
    again = WorkerProcess(first.config, tmp_path / "w1-restarted.log")
    workers.append(again.start())
    rows = await wait_for_table(
        env, lambda rows: _ended(rows, "edge-1") is not None, within_s=90, workers=(again,)
    )
    row = _ended(rows, "edge-1")
    assert row is not None
    assert row.state is RecoveryState.ESCALATED, again.tail()
    assert "no enabled strategy" in (row.transitions[-1].reason or "")
    assert RecoveryState.IN_PROGRESS not in [t.state for t in row.transitions], "never executed"

    await again.ready()  # triage escalates before the results catch-up makes it ready
    log = again.text()
    held = log.index(f"worker not ready until {HOLD}")
    read = log.index("starting configuration read: the apply by ")
    assert held < read < log.index("worker ready:")
