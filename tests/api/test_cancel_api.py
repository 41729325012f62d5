"""POST /recoveries/{id}/cancel on a real worker, over HTTP and through `tmc-recovery
recoveries cancel`: tokens and roles checked, the recovery cancelled by its owner with who and
why on its row and in its audit trail (the compacted audit topic), a second cancel refused as
final."""

import json
import subprocess

import aiohttp
import pytest

from schemas.records import RecoveryState
from strategies.simulator import FleetSimulator
from strategies.simulator.faults import FaultMode
from streams.testing.harness import PipelineEnv, read_topic, wait_for_table
from tests.api.conftest import get, one_recovery
from tests.cli import assert_one_line_error, run_cli_async

pytestmark = pytest.mark.kafka
S = RecoveryState
ALICE, BOB = "alice-token-0123456789", "bob-token-0123456789ab"


async def post(
    http: aiohttp.ClientSession, url: str, token: str | None, body: object
) -> tuple[int, dict[str, str]]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with http.post(url, json=body, headers=headers) as reply:
        return reply.status, await reply.json()


async def cli(
    recovery_id: str, url: str, token: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """``recoveries cancel`` through the real entry point, as the bearer of ``token``."""
    command = ("recoveries", "cancel", recovery_id, "--reason", "maintenance window", *args)
    return await run_cli_async(*command, "--api", url, env={"TMC_API_TOKEN": token})


async def test_an_operator_cancels_a_running_recovery(
    env: PipelineEnv, fleet: FleetSimulator, start_worker, http: aiohttp.ClientSession
) -> None:
    await fleet.admin.set_fault("edge-2", FaultMode.HANG)
    tokens = {"alice": {"token": ALICE, "role": "operate"}, "bob": {"token": BOB, "role": "read"}}
    url, worker, running = await one_recovery(
        env, start_worker, "edge-2", S.IN_PROGRESS,
        strategies={"ClusterConnectivity": {"timeout_s": 120}}, api={"tokens": tokens},
    )  # fmt: skip
    cancel = f"{url}/recoveries/{running.id}/cancel"
    why = {"reason": "maintenance window"}

    assert (await post(http, cancel, None, why))[0] == 401
    assert (await post(http, cancel, "not-a-token-at-all", why))[0] == 401
    status, refused = await post(http, cancel, BOB, why)
    assert (status, refused) == (403, {"error": "bob (read) may not do this: it needs operate"})
    as_bob = await cli(running.id, url, BOB)
    assert_one_line_error(as_bob, "403 bob (read) may not do this")
    assert (await post(http, cancel, ALICE, {}))[0] == 400, "a reason is required"
    assert (await post(http, f"{url}/recoveries/none-0/cancel", ALICE, why))[0] == 404

    as_alice = await cli(running.id, url, ALICE, "--json")
    assert as_alice.returncode == 0, as_alice.stderr
    assert json.loads(as_alice.stdout) == {
        "id": running.id,
        "cluster": "edge-2",
        "command": "cancel",
        "by": "alice",
        "reason": "cancelled by alice: maintenance window",
    }
    rows = await wait_for_table(
        env, lambda rows: rows[running.id].state.is_terminal, within_s=30, workers=(worker,)
    )
    cancelled = rows[running.id]
    assert cancelled.state is S.CANCELLED
    assert cancelled.transitions[-1].reason == "cancelled by alice: maintenance window"
    status, shown = await get(http, f"{url}/recoveries/{running.id}")
    [entry] = shown["audit"]  # the refused attempts changed nothing, so left no entry
    assert status == 200
    assert {k: entry[k] for k in ("user", "role", "action", "cluster", "reason")} == {
        "user": "alice", "role": "operate", "action": "cancel", "cluster": "edge-2",
        "reason": "maintenance window",
    }  # fmt: skip
    [(key, _, _)] = await read_topic(env.bootstrap, env.topics["audit"], env.partitions)
    assert key == f"edge-2~{running.id}~{entry['id']}".encode()
    status, final = await post(http, cancel, ALICE, why)
    assert (status, final["error"]) == (
        409,
        f"recovery {running.id} has ended (Cancelled): it is final",
    )
