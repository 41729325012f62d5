"""`dlq list` and `dlq replay` through the installed command, on a real worker's dead letters."""

import asyncio
import json
import time
from typing import Any

import pytest

from streams.testing.harness import PipelineEnv, produce
from tests.cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.kafka


async def dead_letters(config: str, count: int) -> list[dict[str, Any]]:
    """``dlq list --json`` once it shows ``count`` dead letters."""
    deadline = time.monotonic() + 60
    while True:
        listed = await asyncio.to_thread(run_cli, "dlq", "list", "--json", "-c", config)
        assert listed.returncode == 0, listed.stderr
        letters: list[dict[str, Any]] = json.loads(listed.stdout)["dead_letters"]
        if len(letters) >= count or time.monotonic() > deadline:
            return letters
        await asyncio.sleep(0.5)


async def test_dlq_lists_reasons_and_replays_chosen_records_into_the_errors_topic(
    env: PipelineEnv, start_worker
) -> None:
    worker = await start_worker("w1").ready()
    config = str(worker.config)
    await produce(
        env.bootstrap,
        env.topics["errors"],
        [(b"edge-2", b'{"not": "avro"}'), (b"edge-3", b"\xc3\x01" + b"\x00" * 8)],
    )
    letters = await dead_letters(config, 2)
    assert sorted((d["key"], d["reason"]) for d in letters) == [
        ("edge-2", "bad-magic"),
        ("edge-3", "unknown-fingerprint"),
    ], worker.tail()
    assert all(d["source"].startswith(env.topics["errors"]) for d in letters)
    first = next(d for d in letters if d["key"] == "edge-2")
    where = f"{first['partition']}@{first['offset']}"

    dry = run_cli("dlq", "replay", "--reason", "bad-magic", "--dry-run", "-c", config)
    assert dry.returncode == 0, dry.stderr
    assert f"would replay 1 dead letters from {env.topics['dlq']}" in dry.stdout
    replayed = run_cli("dlq", "replay", "--record", where, "--json", "-c", config)
    assert replayed.returncode == 0, replayed.stderr
    (sent,) = json.loads(replayed.stdout)["replayed"]
    assert (sent["dead_letter"], sent["reason"]) == (where, "bad-magic")
    assert sent["sent_to"], "where it landed on the errors topic"

    # The same bytes went through ingest again, and were dead-lettered again, marked as a replay.
    again = await dead_letters(config, 3)
    (replay,) = [d for d in again if d["replayed_from"]]
    assert replay["replayed_from"] == f"{env.topics['dlq']}:{where}"
    assert (replay["key"], replay["value_base64"]) == ("edge-2", first["value_base64"])
    human = run_cli("dlq", "list", "--reason", "unknown-fingerprint", "-c", config)
    assert "1 dead letters" in human.stdout
    assert "edge-3" in human.stdout

    assert_one_line_error(run_cli("dlq", "replay", "-c", config), "choose what to replay")
    missing = run_cli("dlq", "replay", "--record", "9@99", "-c", config)
    assert_one_line_error(missing, "no dead letter at 9@99")
