"""docker-compose.yml cannot run here (no Docker engine), so its shape is checked."""

from pathlib import Path
from typing import Any

import yaml

from streams.broker.settings import LocalKafkaSettings

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def _services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def test_kafka_is_the_same_version_as_the_local_broker() -> None:
    image = _services()["kafka"]["image"]
    assert image == f"apache/kafka:{LocalKafkaSettings().version}"


def test_kafka_is_single_node_kraft_without_auto_create() -> None:
    env = _services()["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "1"


def test_kafka_port_is_published_on_loopback_only() -> None:
    kafka = _services()["kafka"]
    assert kafka["ports"] == ["127.0.0.1:9092:9092"]
    assert "HOST://127.0.0.1:9092" in kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"]


def test_kafka_has_a_healthcheck_that_talks_to_the_broker() -> None:
    check = _services()["kafka"]["healthcheck"]
    assert "kafka-broker-api-versions.sh" in " ".join(check["test"])
    assert check["retries"] >= 1


def test_worker_is_built_from_deploy_and_waits_for_a_healthy_kafka() -> None:
    worker = _services()["worker"]
    assert worker["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}
    assert worker["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    env = worker["environment"]
    kafka_env = _services()["kafka"]["environment"]
    assert (
        f"INTERNAL://{env['TMC_KAFKA__BOOTSTRAP_SERVERS']}"
        in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
    )


def test_worker_api_is_published_on_loopback_only_and_checks_readiness() -> None:
    worker = _services()["worker"]
    assert worker["ports"] == ["127.0.0.1:6066:6066"]
    env = worker["environment"]
    assert env["TMC_API__ADVERTISED_URL"] == "http://worker:6066"
    assert "/readyz" in " ".join(worker["healthcheck"]["test"])


def test_dockerfile_installs_the_package_and_runs_the_worker() -> None:
    dockerfile = (COMPOSE.parent / "deploy" / "Dockerfile").read_text()
    assert "pip install --no-cache-dir ." in dockerfile
    assert 'ENTRYPOINT ["tmc-recovery"]' in dockerfile
    assert 'CMD ["worker"]' in dockerfile
    assert "USER 65534" in dockerfile, "not root"
