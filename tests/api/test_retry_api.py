"""POST /recoveries/{id}/retry on a real worker, and `tmc-recovery recoveries retry`: a recovery
escalated by a cluster that stayed down is refused a retry during its cooldown; once the cluster
is healed and the cooldown has passed, the retry emits its error again, triage starts a new
recovery that names the old one, and it completes; the retry is in the old one's audit trail."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from schemas.records import RecoveryState
from strategies.simulator import FleetSimulator
from strategies.simulator.faults import FaultMode
from streams.api.retry import MARGIN, RETRY_OF
from streams.testing.harness import PipelineEnv, wait_for_table
from tests.api.conftest import get, one_recovery
from tests.api.test_cancel_api import ALICE, post
from tests.cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.kafka
S = RecoveryState
COOLDOWN_S = 2


async def test_an_escalated_recovery_is_retried_as_a_new_one_that_completes(
    env: PipelineEnv, fleet: FleetSimulator, start_worker, http: aiohttp.ClientSession
) -> None:
    await fleet.admin.set_fault("edge-3", FaultMode.DOWN)
    url, worker, escalated = await one_recovery(
        env, start_worker, "edge-3", S.ESCALATED,
        strategies={"ClusterConnectivity": {"max_attempts": 1}},
        dedup={"cooldown_s": COOLDOWN_S},
        api={"tokens": {"alice": {"token": ALICE, "role": "operate"}}},
    )  # fmt: skip
    retry = f"{url}/recoveries/{escalated.id}/retry"
    why = {"reason": "edge-3 is back"}

    status, refused = await post(http, retry, ALICE, why)
    assert (status, refused["error"].split(" until ")[0]) == (
        409, f"errors for edge-3 merge into recovery {escalated.id}",
    )  # fmt: skip
    assert (await post(http, retry, None, why))[0] == 401
    assert (await post(http, retry, ALICE, {}))[0] == 400
    await fleet.admin.set_fault("edge-3", FaultMode.HEALTHY)
    assert escalated.end_time is not None
    free_at = escalated.end_time + timedelta(seconds=COOLDOWN_S) + MARGIN
    await asyncio.sleep(max(0.0, (free_at - datetime.now(UTC)).total_seconds()) + 0.2)

    command = ("recoveries", "retry", escalated.id, "--reason", "edge-3 is back", "--api", url)
    done = run_cli(*command, "--json", env={"TMC_API_TOKEN": ALICE})
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
    [entry] = shown["audit"]
    assert (entry["user"], entry["action"], entry["reason"]) == ("alice", "retry", "edge-3 is back")
    assert entry["details"] == {"event_id": answer["event_id"]}
    again = run_cli(*command, env={"TMC_API_TOKEN": ALICE})
    assert_one_line_error(again, "409", f"was retried by alice at {entry['at']}")
    completed = run_cli(*command[:2], new.id, *command[3:], env={"TMC_API_TOKEN": ALICE})
    assert_one_line_error(completed, f"recovery {new.id} is Completed")
