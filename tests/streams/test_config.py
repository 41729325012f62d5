"""Service configuration: file plus environment, validated with messages naming the field."""

from pathlib import Path

import pytest

from streams.config import load_service_settings
from streams.settings_loader import ConfigError


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "tmc.yaml"
    path.write_text(
        "worker_id: w1\n"
        "topics:\n  partitions: 12\n"
        "strategies:\n  Migration:\n    enabled: false\n    timeout_s: 60\n"
        "api:\n  tokens:\n    alice:\n      token: s3cret-s3cret-s3cret\n      role: operate\n"
    )
    return path


def test_defaults_bind_loopback_and_match_the_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TMC_API__HOST", raising=False)
    settings = load_service_settings()
    assert settings.api.host == "127.0.0.1"
    assert settings.execution.max_concurrent == 5
    assert (settings.retry.base_delay_s, settings.retry.max_delay_s) == (1.0, 30.0)
    assert settings.topics.requests("Sync") == "tmc.recovery.requests.Sync"


def test_file_values_and_env_overrides(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMC_TOPICS__PARTITIONS", "3")
    settings = load_service_settings(config_file)
    assert settings.worker_id == "w1"
    assert settings.topics.partitions == 3, "the environment wins over the file"
    assert settings.strategies["Migration"].enabled is False
    assert settings.strategies["Migration"].timeout_s == 60


def test_secret_token_is_not_shown(config_file: Path) -> None:
    settings = load_service_settings(config_file)
    token = settings.api.tokens["alice"].token
    assert token.get_secret_value() == "s3cret-s3cret-s3cret"
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in str(settings.model_dump())


def test_bad_env_value_names_field_and_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMC_TOPICS__PARTITIONS", "zero")
    with pytest.raises(ConfigError, match=r"topics\.partitions \(env TMC_TOPICS__PARTITIONS\)"):
        load_service_settings()


def test_a_producer_batch_the_broker_would_refuse_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the broker's default message.max.bytes, every large batch would fail to send."""
    monkeypatch.setenv("TMC_KAFKA__PRODUCER_BATCH_BYTES", "2000000")
    with pytest.raises(ConfigError, match=r"kafka\.producer_batch_bytes .*1000000"):
        load_service_settings()


def test_unknown_key_in_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("topics:\n  partitons: 3\n")
    with pytest.raises(ConfigError, match=r"topics\.partitons.*Extra inputs are not permitted"):
        load_service_settings(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_service_settings(tmp_path / "nope.yaml")


def test_static_membership_is_opt_in_and_commits_every_second() -> None:
    settings = load_service_settings()
    assert settings.kafka.instance_id is None
    assert settings.kafka.commit_interval_s == 1.0
    assert settings.ready_file is None


@pytest.mark.parametrize("instance_id", ["tmc-recovery-0", "worker-3", "edge.east_1"])
def test_an_instance_id_per_worker_is_accepted(
    instance_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMC_KAFKA__INSTANCE_ID", instance_id)
    assert load_service_settings().kafka.instance_id == instance_id


@pytest.mark.parametrize(
    ("instance_id", "why"),
    [
        ("", "must not be blank"),
        ("  ", "must not be blank"),
        ("default", "looks like a default"),
        ("tmc-recovery", "looks like a default"),
        ("Worker", "looks like a default"),
        ("$(POD_NAME)", "an unexpanded variable"),
        ("${HOSTNAME}", "an unexpanded variable"),
        ("w/1", "must be 1-249 of the characters"),
        ("x" * 250, "must be 1-249 of the characters"),
    ],
)
def test_a_shared_or_malformed_instance_id_is_refused(
    instance_id: str, why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMC_KAFKA__INSTANCE_ID", instance_id)
    with pytest.raises(
        ConfigError, match=r"kafka\.instance_id \(env TMC_KAFKA__INSTANCE_ID\)"
    ) as e:
        load_service_settings()
    assert why in str(e.value)


def test_the_group_id_is_not_an_instance_id(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("kafka:\n  group_id: fleet-a\n  instance_id: fleet-a\n")
    with pytest.raises(ConfigError, match="looks like a default every worker would share"):
        load_service_settings(path)


def test_flags_override_the_file_and_the_environment_field_by_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("kafka:\n  bootstrap_servers: 10.0.0.1:9092\n  instance_id: from-file\n")
    monkeypatch.setenv("TMC_KAFKA__INSTANCE_ID", "from-env")
    settings = load_service_settings(
        path, kafka={"instance_id": "from-flag"}, ready_file=tmp_path / "ready"
    )
    assert settings.kafka.instance_id == "from-flag"
    assert settings.kafka.bootstrap_servers == "10.0.0.1:9092", "the rest of the section stays"
    assert settings.ready_file == tmp_path / "ready"
