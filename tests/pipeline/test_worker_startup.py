"""A worker that cannot start says why in one line and exits 2; it never corrupts topics."""

import pytest
from aiokafka.admin import NewTopic

from streams.testing.harness import PipelineEnv, create_topics
from tests.cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.kafka


async def test_wrong_partition_count_refuses_to_start(env: PipelineEnv) -> None:
    await create_topics(env.bootstrap, [NewTopic(env.topics["results"], 1, 1)])
    result = run_cli("worker", "-c", str(env.config("w1")), timeout=120)
    assert_one_line_error(result, env.topics["results"], "has 1 partitions", "says 3")


def test_unreachable_broker(env: PipelineEnv) -> None:
    config = env.config("w1", kafka={"bootstrap_servers": "127.0.0.1:1"})
    result = run_cli("worker", "-c", str(config), timeout=120)
    assert_one_line_error(result, "cannot manage topics on 127.0.0.1:1")


def test_missing_fleet_file(env: PipelineEnv) -> None:
    config = env.config("w1", fleet_file=None)
    result = run_cli("worker", "-c", str(config))
    assert_one_line_error(result, "fleet_file (env TMC_FLEET_FILE) is required")


def test_bad_value_names_the_field(env: PipelineEnv) -> None:
    config = env.config("w1", execution={"max_concurrent": 0})
    result = run_cli("worker", "-c", str(config))
    assert_one_line_error(result, "execution.max_concurrent (env TMC_EXECUTION__MAX_CONCURRENT)")
