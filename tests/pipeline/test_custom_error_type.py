"""The Go design's custom error type end to end: Python emits a CustomApplication error from
my-application (TMCError v3, type UNKNOWN), a real worker loads the plugin strategy from an
installed entry point, matches it by its custom type, restarts the application's Deployment on
the simulated cluster through the HTTP adapter, and the result row, the API and the CLI show
the custom type. A custom type no strategy declares, not retryable, ends Escalated."""

import dataclasses
import json
from pathlib import Path

import aiohttp
import pytest

from schemas.records import ErrorType, RecoveryState, TMCError
from strategies.simulator import FleetSimulator
from streams.clients import ErrorEmitter
from streams.clients.errors import EmitError
from streams.testing.harness import PipelineEnv, wait_for_table
from tests.cli import assert_one_line_error, run_cli_async
from tests.strategies.custom_application import (
    APP,
    APP_REF,
    COMPONENT,
    CUSTOM_TYPE,
    DEPLOYMENT,
    RESTARTED_AT,
    install_entry_point,
)

pytestmark = pytest.mark.kafka


async def test_a_custom_application_error_is_healed_by_the_plugin_declaring_its_type(
    env: PipelineEnv,
    fleet: FleetSimulator,
    start_worker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONPATH", install_entry_point(tmp_path / "plugins"))
    await fleet.admin.put_object("edge-1", APP)
    worker = start_worker("w1")
    url = await worker.api_url()
    await worker.ready()
    failure = (
        TMCError.build(CUSTOM_TYPE, COMPONENT, "reconcile")
        .with_cluster("edge-1", "root:tmc")
        .with_resource(DEPLOYMENT, "apps", "my-application")
        .with_message("the application's cache is stale")
        .with_retryable(True)
        .build()
    )

    async with ErrorEmitter(env.bootstrap, name=COMPONENT, topic=env.topics["errors"]) as emitter:
        event_id = await emitter.emit(failure)
        with pytest.raises(EmitError, match="needs type UNKNOWN"):
            await emitter.emit(dataclasses.replace(failure, type=ErrorType.SYNC_FAILURE))

    rows = await wait_for_table(
        env, lambda rows: any(r.state.is_terminal for r in rows.values()), workers=(worker,)
    )
    (row,) = rows.values()
    assert row.state is RecoveryState.COMPLETED, worker.tail()
    assert (row.strategy, row.target) == (
        "CustomApplication",
        "edge-1/deployments.apps apps/my-application",
    )
    assert (row.error.type, row.error.custom_type) == (ErrorType.UNKNOWN, CUSTOM_TYPE)
    assert row.error.event_id == event_id
    assert row.result is not None
    assert row.result.metrics == {"restarts": 1.0}
    restarted = await fleet.admin.get_object("edge-1", APP_REF)
    assert restarted["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT] == row.id

    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/recoveries", params={"cluster": "edge-1"}) as reply,
    ):
        assert reply.status == 200
        (shown,) = (await reply.json())["recoveries"]
    assert (shown["id"], shown["error"]["custom_type"]) == (row.id, CUSTOM_TYPE)

    # From the command line, a custom type nobody declares (not retryable by default).
    flags = ["--custom-type", "NobodysType", "--cluster", "edge-2", "--component", COMPONENT]
    cli = await run_cli_async("emit", *flags, "--follow", "--json", "-c", str(worker.config))
    assert cli.returncode == 1, (cli.stderr, worker.tail())
    _, *steps = [json.loads(line) for line in cli.stdout.splitlines()]
    assert [s["state"] for s in steps] == ["Escalated"]
    assert steps[0]["error"]["type"] == "UNKNOWN"
    assert steps[0]["error"]["custom_type"] == "NobodysType"
    assert steps[0]["strategy"] == "none"
    config = str(worker.config)
    bad = await run_cli_async("emit", "--custom-type", "two words", "-c", config)
    assert_one_line_error(bad, "--custom-type", "'two words' is not a letter followed by")
    both = ["--type", "SyncFailure", "--custom-type", CUSTOM_TYPE]
    assert_one_line_error(
        await run_cli_async("emit", *both, "-c", config), "or --custom-type in place"
    )
