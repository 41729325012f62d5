"""`config apply` on a real worker, through the real entry point: disabling strategies takes
effect without a restart (the next error is escalated, no enabled strategy); a bad file is
refused by the CLI naming the field, a bad record that reaches the topic anyway is refused by
the worker, and neither changes what is in force. `config show` prints it, secrets masked."""

import json
from pathlib import Path

import pytest
import yaml

from schemas.records import RecoveryResult, RecoveryState
from streams.runtime_config.record import KEY, Applied
from streams.testing.harness import (
    PipelineEnv,
    WorkerProcess,
    emit,
    produce,
    unreachable,
    wait_for_table,
)
from tests.cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.kafka
TOKEN = "alice-token-0123456789"
DISABLED = {
    "strategies": {"ClusterConnectivity": {"enabled": False}, "Generic": {"enabled": False}}
}


def _file(tmp_path: Path, name: str, document: object) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document))
    return str(path)


def _ended(rows: dict[str, RecoveryResult], cluster: str) -> RecoveryResult | None:
    found = [row for row in rows.values() if row.target.startswith(cluster)]
    return found[0] if found and found[0].state.is_terminal else None


async def _outcome(env: PipelineEnv, worker: WorkerProcess, cluster: str) -> RecoveryResult:
    await emit(env.bootstrap, env.topics["errors"], [unreachable(cluster)])
    rows = await wait_for_table(
        env, lambda rows: _ended(rows, cluster) is not None, within_s=20, workers=(worker,)
    )
    row = _ended(rows, cluster)
    assert row is not None
    return row


async def test_apply_disables_without_restart_and_a_bad_config_changes_nothing(
    env: PipelineEnv, start_worker, tmp_path: Path
) -> None:
    worker = start_worker("w1", api={"tokens": {"alice": {"token": TOKEN, "role": "operate"}}})
    await worker.ready()
    config = str(worker.config)

    done = run_cli("config", "apply", _file(tmp_path, "off.yaml", DISABLED), "-c", config, "--json")
    assert done.returncode == 0, done.stderr
    assert "ClusterConnectivity" not in json.loads(done.stdout)["enabled"]
    await worker.wait_for_log("is in force", within_s=10)
    row = await _outcome(env, worker, "edge-1")
    assert row.state is RecoveryState.ESCALATED
    reason = row.transitions[-1].reason or ""
    assert "no enabled strategy" in reason, reason

    bad = {"strategies": {"ClusterConnectivity": {"enabled": True}, "Nope": {"priority": 1}}}
    refused = run_cli("config", "apply", _file(tmp_path, "bad.yaml", bad), "-c", config)
    assert_one_line_error(refused, "strategies.Nope names no registered strategy")

    # An older CLI (or a hand-written record) gets a bad one onto the topic: the worker refuses it.
    sneaked = Applied(
        {"strategies": {"ClusterConnectivity": {"enabled": True, "priority": "high"}}}
    )
    topic = env.topics["runtime_config"]
    await produce(env.bootstrap, topic, [(KEY, sneaked.value())])
    await worker.wait_for_log("configuration refused", within_s=10)
    assert "strategies.ClusterConnectivity.priority" in worker.text()
    row = await _outcome(env, worker, "edge-2")
    assert row.state is RecoveryState.ESCALATED, "the applied configuration is still in force"

    shown = run_cli("config", "show", "-c", config, "--json")
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    assert view["strategies"]["ClusterConnectivity"]["enabled"] is False
    assert view["strategies"]["Migration"]["enabled"] is True
    assert view["applied"]["by"]
    assert TOKEN not in shown.stdout
    assert view["api"]["tokens"]["alice"]["token"] == "**********"
