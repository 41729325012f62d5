"""The Go design's vocabulary onto the per-strategy settings: mapping, caps and conflicts."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.records import ErrorType
from strategies.base import RecoveryStrategy
from strategies.settings import StrategySettings
from streams.config import Tunables, load_service_settings
from streams.runtime_config.resolve import resolve
from streams.settings_loader import ConfigError
from tests.strategies.planned import Generic, planned

E = ErrorType


def _strategies() -> list[RecoveryStrategy]:
    return [
        planned("ClusterConnectivity", {E.CLUSTER_UNREACHABLE, E.CLUSTER_UNAVAILABLE}, 80),
        planned("Sync", {E.SYNC_FAILURE}, 50),
        Generic(),
    ]


def _resolve(**sections: Any) -> dict[str, StrategySettings]:
    return resolve(Tunables.model_validate(sections), _strategies()).strategies


def _refused(**sections: Any) -> str:
    with pytest.raises(ConfigError) as refused:
        resolve(Tunables.model_validate(sections), _strategies())
    return str(refused.value)


def test_nothing_configured_is_every_strategy_with_its_own_defaults() -> None:
    resolved = _resolve()
    assert resolved["Sync"] == StrategySettings(
        enabled=True, priority=50, timeout_s=120.0, max_attempts=3
    )
    assert resolve(Tunables(), _strategies()).max_concurrent == 5


def test_the_go_vocabulary_as_written_in_a_worker_file(tmp_path: Path) -> None:
    """Read from YAML with the Go names and durations, through the worker's own loader."""
    config = tmp_path / "worker.yaml"
    document = {
        "recoveryManager": {
            "maxConcurrentRecoveries": 12,
            "recoveryTimeout": "1m30s",
            "healthCheckInterval": "30s",
            "retryAttempts": 4,
            "enabledStrategies": ["ClusterConnectivity", "Sync"],
        },
        "strategyConfigs": {"SyncFailure": {"priority": 95, "timeout": "45s", "maxRetries": 2}},
    }
    config.write_text(yaml.safe_dump(document))
    settings = load_service_settings(config)
    assert settings.recoveryManager.healthCheckInterval == 30.0
    effective = resolve(settings, _strategies())
    assert effective.max_concurrent == 12
    assert effective.strategies == {
        "ClusterConnectivity": StrategySettings(
            enabled=True, priority=80, timeout_s=90.0, max_attempts=4
        ),
        "Sync": StrategySettings(enabled=True, priority=95, timeout_s=45.0, max_attempts=2),
        "Generic": StrategySettings(enabled=False, priority=10, timeout_s=90.0, max_attempts=4),
    }


def test_recovery_timeout_caps_a_configured_timeout_too() -> None:
    resolved = _resolve(
        recoveryManager={"recoveryTimeout": 30}, strategies={"Sync": {"timeout_s": 600}}
    )
    assert resolved["Sync"].timeout_s == 30.0


def test_a_strategys_own_attempts_win_over_retry_attempts() -> None:
    resolved = _resolve(
        recoveryManager={"retryAttempts": 7}, strategies={"Sync": {"max_attempts": 2}}
    )
    assert (resolved["Sync"].max_attempts, resolved["Generic"].max_attempts) == (2, 7)


def test_both_vocabularies_may_say_the_same_thing() -> None:
    resolved = _resolve(
        strategies={"Sync": {"priority": 60, "enabled": True}},
        strategyConfigs={"SyncFailure": {"priority": 60}},
        recoveryManager={"enabledStrategies": ["Sync"]},
    )
    assert (resolved["Sync"].priority, resolved["Sync"].enabled) == (60, True)
    assert not resolved["ClusterConnectivity"].enabled


@pytest.mark.parametrize(
    ("sections", "named"),
    [
        (
            {"recoveryManager": {"maxConcurrentRecoveries": 3}, "execution": {"max_concurrent": 4}},
            "recoveryManager.maxConcurrentRecoveries = 3 conflicts with "
            "execution.max_concurrent = 4",
        ),
        (
            {
                "strategies": {"Sync": {"timeout_s": 10}},
                "strategyConfigs": {"SyncFailure": {"timeout": "20s"}},
            },
            "strategies.Sync.timeout_s = 10.0 conflicts with "
            "strategyConfigs.SyncFailure.timeout = 20.0",
        ),
        (
            {
                "strategies": {"Sync": {"enabled": False}},
                "recoveryManager": {"enabledStrategies": ["Sync"]},
            },
            "strategies.Sync.enabled = False conflicts with "
            "recoveryManager.enabledStrategies = True",
        ),
        (
            {
                "strategyConfigs": {
                    "ClusterUnreachable": {"maxRetries": 2},
                    "ClusterUnavailable": {"maxRetries": 5},
                }
            },
            "strategyConfigs.ClusterUnavailable.maxRetries = 5 conflicts with "
            "strategyConfigs.ClusterUnreachable.maxRetries = 2",
        ),
        ({"strategies": {"Nope": {}}}, "strategies.Nope names no registered strategy"),
        (
            {"recoveryManager": {"enabledStrategies": ["Sync", "Nope"]}},
            "recoveryManager.enabledStrategies: Nope names no registered strategy",
        ),
        (
            {"strategyConfigs": {"MigrationFailure": {"priority": 1}}},
            "strategyConfigs.MigrationFailure: no strategy is registered for that error type",
        ),
    ],
)
def test_conflicts_and_unknown_names_are_refused_by_field(
    sections: dict[str, Any], named: str
) -> None:
    assert named in _refused(**sections)


def test_every_problem_is_named_at_once() -> None:
    message = _refused(strategies={"Nope": {}}, recoveryManager={"enabledStrategies": ["Gone"]})
    assert "strategies.Nope" in message
    assert "enabledStrategies: Gone" in message


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"recoveryManager": {"recoveryTimeout": "5 minutes"}}, "recoveryManager.recoveryTimeout"),
        ({"recoveryManager": {"retryAttempts": 0}}, "recoveryManager.retryAttempts"),
        ({"recoveryManager": {"maxConcurrency": 3}}, "recoveryManager.maxConcurrency"),
        (
            {"strategyConfigs": {"SyncFailure": {"maxRetries": 0}}},
            "strategyConfigs.SyncFailure.maxRetries",
        ),
    ],
)
def test_a_bad_value_names_its_go_field(section: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=rf"^bad configuration: {field} "):
        load_service_settings(**section)


@pytest.mark.parametrize(
    ("written", "seconds"),
    [("90s", 90.0), ("1m30s", 90.0), ("1.5h", 5400.0), ("250ms", 0.25), (45, 45.0), ("12", 12.0)],
)
def test_durations_in_go_form_or_seconds(written: object, seconds: float) -> None:
    tunables = Tunables.model_validate({"recoveryManager": {"recoveryTimeout": written}})
    assert tunables.recoveryManager.recoveryTimeout == seconds


def test_the_manager_section_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMC_RECOVERYMANAGER__RECOVERYTIMEOUT", "2m")
    monkeypatch.setenv("TMC_RECOVERYMANAGER__MAXCONCURRENTRECOVERIES", "9")
    effective = resolve(load_service_settings(), _strategies())
    assert effective.max_concurrent == 9
    assert {s.timeout_s for s in effective.strategies.values()} == {120.0}
