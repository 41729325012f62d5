"""The Go design's per-error-type StrategyConfig from the environment, as from the file:
``TMC_STRATEGYCONFIGS`` as JSON, or one knob per variable under ``__`` (error types and Go
field names in any case, as variable names reach the settings lowercased). A bad value is one
line naming the field; ``config show`` prints what was given and what it resolved into."""

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from schemas.records import ErrorType
from streams.config import load_service_settings
from streams.runtime_config.resolve import resolve
from streams.runtime_config.vocabulary import StrategyConfig
from streams.settings_loader import ConfigError
from tests.cli import run_cli
from tests.strategies.planned import planned

UNREACHABLE = ErrorType.CLUSTER_UNREACHABLE
WANTED = StrategyConfig(priority=95, timeout=90.0, maxRetries=2)
CONNECTIVITY = [planned("ClusterConnectivity", {UNREACHABLE}, 100)]


def test_json_in_one_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, JSON)
    settings = load_service_settings()
    assert settings.strategyConfigs == {UNREACHABLE: WANTED}
    knobs = resolve(settings, CONNECTIVITY).strategies["ClusterConnectivity"]
    assert (knobs.priority, knobs.timeout_s, knobs.max_attempts) == (95, 90.0, 2)


def test_one_knob_per_variable_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMC_STRATEGYCONFIGS__ClusterUnreachable__priority", "95")
    monkeypatch.setenv("TMC_STRATEGYCONFIGS__CLUSTERUNREACHABLE__TIMEOUT", "1m30s")
    monkeypatch.setenv("TMC_STRATEGYCONFIGS__clusterunreachable__maxRetries", "2")
    assert load_service_settings().strategyConfigs == {UNREACHABLE: WANTED}


def test_the_environment_wins_over_the_file_knob_by_knob(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    file = tmp_path / "worker.yaml"
    file.write_text(
        yaml.safe_dump(
            {
                "strategyConfigs": {
                    "ClusterUnreachable": {"priority": 10, "maxRetries": 2},
                    "SyncFailure": {"priority": 60},
                }
            }
        )
    )
    monkeypatch.setenv("TMC_STRATEGYCONFIGS__ClusterUnreachable__priority", "95")
    monkeypatch.setenv("TMC_STRATEGYCONFIGS__ClusterUnreachable__timeout", "90s")
    assert load_service_settings(file).strategyConfigs == {
        UNREACHABLE: WANTED,
        ErrorType.SYNC_FAILURE: StrategyConfig(priority=60),
    }


VAR, KNOB = "TMC_STRATEGYCONFIGS", "TMC_STRATEGYCONFIGS__ClusterUnreachable__"
FIELD = "strategyConfigs.ClusterUnreachable."
JSON = '{"ClusterUnreachable": {"priority": 95, "timeout": "90s", "maxRetries": 2}}'


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        (VAR, JSON[:-2], f"strategyConfigs (env {VAR}): not valid JSON"),
        (VAR, '{"ClusterUnreachable": {"timeout": "soon"}}', f"{FIELD}timeout"),
        (f"{KNOB}maxRetries", "0", f"{FIELD}maxRetries"),
        (f"{KNOB}retries", "2", f"{FIELD}retries"),
        (VAR, '{"NoSuchError": {"priority": 1}}', "strategyConfigs.NoSuchError"),
    ],
)  # fmt: skip
def test_a_bad_value_names_the_field(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, named: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_service_settings()
    assert named in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.kafka
def test_config_show_prints_them_and_what_they_resolved_into(
    kafka_bootstrap: str, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory("config", 6, {"cleanup.policy": "compact"})
    env = {"TMC_TOPICS__RUNTIME_CONFIG": topic, VAR: JSON}
    shown = run_cli("config", "show", "--bootstrap", kafka_bootstrap, "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    assert view["strategyConfigs"] == {
        "ClusterUnreachable": {"priority": 95, "timeout": 90.0, "maxRetries": 2}
    }
    knobs = view["strategies"]["ClusterConnectivity"]
    assert (knobs["priority"], knobs["timeout_s"], knobs["max_attempts"]) == (95, 90.0, 2)
    assert view["applied"] is None
