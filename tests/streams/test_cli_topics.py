"""`tmc-recovery topics create|verify` against the real broker: the worker's own topics."""

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka.admin import NewTopic

from streams.cli.topics import worker_plan
from streams.config import load_service_settings
from streams.testing.harness import create_topics
from streams.topics import ensure_topics
from streams.topology import TOPOLOGY
from tests.cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.kafka


def config(tmp_path: Path, bootstrap: str, partitions: int = 3) -> Path:
    """A producer-side config: no fleet file, just the cluster and the topics."""
    p = f"c{uuid.uuid4().hex[:8]}"
    # Every topic of the spec, under a fresh prefix (new topics included).
    topics: dict[str, Any] = {**TOPOLOGY.under(p), "partitions": partitions}
    path = tmp_path / f"{p}.yaml"
    path.write_text(yaml.safe_dump({"kafka": {"bootstrap_servers": bootstrap}, "topics": topics}))
    return path


def test_create_makes_exactly_the_topics_a_worker_would(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    path = config(tmp_path, kafka_bootstrap)
    result = run_cli("topics", "create", "-c", str(path), "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    settings = load_service_settings(path)
    plan = worker_plan(settings)
    assert sorted(created["created"]) == sorted(spec.name for spec in plan)
    assert f"{settings.topics.requests_prefix}ClusterConnectivity" in created["topics"]
    status = created["topics"][settings.topics.status]
    assert status["partitions"] == 3
    assert status["cleanup_policy"] == "compact"
    assert status["public"] is True
    assert status["purpose"] == TOPOLOGY.table("status").purpose
    # The worker's own start-up path finds nothing to create and nothing wrong.
    assert asyncio.run(ensure_topics(kafka_bootstrap, plan)) == []

    again = run_cli("topics", "create", "-c", str(path), "--json", timeout=120)
    assert json.loads(again.stdout)["created"] == []
    verified = run_cli("topics", "verify", "-c", str(path), "--json", timeout=120)
    assert verified.returncode == 0, verified.stderr
    assert set(json.loads(verified.stdout)["topics"]) == set(created["topics"])


def test_human_output_names_what_was_done(kafka_bootstrap: str, tmp_path: Path) -> None:
    path = config(tmp_path, kafka_bootstrap)
    result = run_cli("topics", "create", "-c", str(path), timeout=120)
    assert result.returncode == 0, result.stderr
    assert "topics ready" in result.stdout
    assert ".errors" in result.stdout


def test_verify_creates_nothing_and_names_what_is_missing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    path = config(tmp_path, kafka_bootstrap)
    result = run_cli("topics", "verify", "-c", str(path), timeout=120)
    count = len(worker_plan(load_service_settings(path)))
    assert_one_line_error(result, f"{count} of {count} topics do not exist", ".errors")


def test_a_topic_with_another_partition_count_is_one_line(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    path = config(tmp_path, kafka_bootstrap, partitions=3)
    results = load_service_settings(path).topics.results
    asyncio.run(create_topics(kafka_bootstrap, [NewTopic(results, 2, 1)]))
    result = run_cli("topics", "create", "-c", str(path), timeout=120)
    assert_one_line_error(result, results, "has 2 partitions", "says 3")


def test_bootstrap_flag_and_unreachable_broker(tmp_path: Path) -> None:
    path = config(tmp_path, "127.0.0.1:9")
    result = run_cli("topics", "create", "-c", str(path), "--bootstrap", "127.0.0.1:1")
    assert_one_line_error(result, "cannot manage topics on 127.0.0.1:1")
