"""`tmc-recovery silence` through the installed command against a real worker: what it refuses
is one line naming the reason (a bad duration, no or a weak token, no matcher, an unknown type or
silence), and a silence set to start later is listed as pending."""

import asyncio
import json
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from tests.cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.kafka
ALICE, BOB = "alice-token-0123456789", "bob-token-0123456789ab"


async def test_silence_refusals_are_one_line_and_a_later_start_is_pending(start_worker) -> None:
    tokens = {"alice": {"token": ALICE, "role": "operate"}, "bob": {"token": BOB, "role": "read"}}
    worker = start_worker("w1", api={"tokens": tokens})
    url = await worker.api_url()
    await worker.ready()

    def silence(*args: str, token: str | None = ALICE) -> subprocess.CompletedProcess[str]:
        return run_cli("silence", *args, "--api", url, env={"TMC_API_TOKEN": token or ""})

    add = ("add", "--reason", "upgrade", "--cluster", "edge-1")
    assert_one_line_error(silence(*add, "--duration", "2 hours"), "--duration '2 hours'")
    assert_one_line_error(silence(*add, "--duration", "1h", token=None), "401", "bearer token")
    assert_one_line_error(silence(*add, "--duration", "1h", token=BOB), "403", "bob (read)")
    no_matcher = silence("add", "--reason", "x", "--duration", "1h")
    assert_one_line_error(no_matcher, "400", "say what it silences")
    bad_type = silence(*add, "--duration", "1h", "--error-type", "9lives")
    assert_one_line_error(bad_type, "400", "error_type: custom type '9lives'")
    assert_one_line_error(silence("expire", "no-such-id"), "404", "no silence 'no-such-id'")

    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    made = silence(*add, "--duration", "30m", "--starts-at", later, "--json")
    assert made.returncode == 0, made.stderr
    pending = json.loads(made.stdout)
    assert pending["status"] == "pending"
    assert pending["matchers"] == {"cluster_name": "edge-1"}
    for _ in range(20):  # the worker applies it once it is back from Kafka
        shown = silence("list", token=None)
        assert shown.returncode == 0, shown.stderr
        if pending["id"] in shown.stdout:
            break
        await asyncio.sleep(0.25)
    assert pending["id"] in shown.stdout
    assert "pending" in shown.stdout
    assert "cluster_name=edge-1" in shown.stdout
