"""POST /recoveries/{id}/retry on a real worker, and `tmc-recovery recoveries retry`: once the
cluster that escalated a recovery is healed, the retry emits its error again and triage starts a
new recovery that names the old one, at once, though errors for that target still merge into the
old one for the (default, 5-minute) cooldown; it completes, and the retry is in the old one's
audit trail."""

import json

import aiohttp
import pytest

from schemas.records import RecoveryState
from strategies.simulator import FleetSimulator
from strategies.simulator.faults import FaultMode
from streams.testing.harness import PipelineEnv, wait_for_table
from streams.triage.ids import RETRY_OF
from tests.api.conftest import get, one_recovery
from tests.api.test_cancel_api import ALICE, post
from tests.cli import assert_one_line_error, run_cli_async

pytestmark = pytest.mark.kafka
S = RecoveryState


async def test_an_escalated_recovery_is_retried_as_a_new_one_that_completes(
    env: PipelineEnv, fleet: FleetSimulator, start_worker, http: aiohttp.ClientSession
) -> None:
    await fleet.admin.set_fault("edge-3", FaultMode.DOWN)
    url, worker, escalated = await one_recovery(
        env, start_worker, "edge-3", S.ESCALATED,
        strategies={"ClusterConnectivity": {"max_attempts": 1}},
        api={"tokens": {"alice": {"token": ALICE, "role": "operate"}}},
    )  # fmt: skip
    retry = f"{url}/recoveries/{escalated.id}/retry"
    why = {"reason": "edge-3 is back"}

    assert (await post(http, retry, None, why))[0] == 401
    assert (await post(http, retry, ALICE, {}))[0] == 400
    await fleet.admin.set_fault("edge-3", FaultMode.HEALTHY)

    command = ("recoveries", "retry", escalated.id, "--reason", "edge-3 is back", "--api", url)
    done = await run_cli_async(*command, "--json", env={"TMC_API_TOKEN": ALICE})
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert {k: answer[k] for k in ("id", "cluster", "command", "by", "reason")} == {
        "id": escalated.id, "cluster": "edge-3", "command": "retry", "by": "alice",
        "reason": "edge-3 is back",
    }  # fmt: skip
    rows = await wait_for_table(
        env,
        lambda rows: len(rows) == 2 and all(r.state.is_terminal for r in rows.values()),
        workers=(worker,),
    )
    [new] = [row for row in rows.values() if row.id != escalated.id]
    assert new.state is S.COMPLETED, new.transitions
    assert new.error.event_id == answer["event_id"]
    assert new.error.context[RETRY_OF] == escalated.id
    assert rows[escalated.id] == escalated, "the old recovery stays as it ended"

    status, shown = await get(http, f"{url}/recoveries/{escalated.id}")
    assert status == 200
    [entry] = shown["audit"]
    assert (entry["user"], entry["action"], entry["reason"]) == ("alice", "retry", "edge-3 is back")
    assert entry["details"] == {"event_id": answer["event_id"]}
    again = await run_cli_async(*command, env={"TMC_API_TOKEN": ALICE})
    assert_one_line_error(again, "409", f"was retried by alice at {entry['at']}")
    completed = await run_cli_async(
        *command[:2], new.id, *command[3:], env={"TMC_API_TOKEN": ALICE}
    )
    assert_one_line_error(completed, f"recovery {new.id} is Completed")
