"""Strategy selection, configuration and plugin loading (pure logic)."""

from datetime import timedelta
from pathlib import Path

import pytest

from schemas.records import ErrorType, TMCError
from strategies.base import RecoveryStrategy
from strategies.registry import RegistryError, StrategyRegistry, plugin_strategies
from streams.config import StrategySettings
from tests.strategies.planned import Generic, planned


def _error(error_type: ErrorType, retryable: bool | None = None) -> TMCError:
    builder = TMCError.build(error_type, "syncer", "op").with_cluster("edge-1")
    if retryable is not None:
        builder = builder.with_retryable(retryable)
    return builder.build()


def _registry(**settings: StrategySettings) -> StrategyRegistry:
    return StrategyRegistry(
        [
            planned("ClusterConnectivity", {ErrorType.CLUSTER_UNREACHABLE}, 80),
            planned("ClusterAuthentication", {ErrorType.CLUSTER_AUTHENTICATION}, 90),
            planned("Sync", {ErrorType.SYNC_FAILURE, ErrorType.SYNC_TIMEOUT}, 50),
            planned("SyncTurbo", {ErrorType.SYNC_FAILURE}, 50),
            Generic(),
        ],
        settings,
    )


def test_selects_the_registeredplanned() -> None:
    chosen = _registry().select(_error(ErrorType.CLUSTER_UNREACHABLE))
    assert chosen is not None
    assert chosen.name == "ClusterConnectivity"


def test_equal_priority_is_broken_by_name_not_by_dict_order() -> None:
    chosen = _registry().select(_error(ErrorType.SYNC_FAILURE))
    assert chosen is not None
    assert chosen.name == "Sync"


def test_configured_priority_changes_the_choice() -> None:
    registry = _registry(SyncTurbo=StrategySettings(priority=60))
    chosen = registry.select(_error(ErrorType.SYNC_FAILURE))
    assert chosen is not None
    assert chosen.name == "SyncTurbo"
    assert chosen.priority == 60


def test_disabled_strategy_falls_through_to_generic_for_retryable_errors() -> None:
    registry = _registry(ClusterConnectivity=StrategySettings(enabled=False))
    chosen = registry.select(_error(ErrorType.CLUSTER_UNREACHABLE))
    assert chosen is not None
    assert chosen.name == "Generic"


def test_non_retryable_error_without_strategy_escalates() -> None:
    assert _registry().select(_error(ErrorType.RESOURCE_NOT_FOUND)) is None


def test_generic_takes_retryable_errors_nobody_registered_for() -> None:
    chosen = _registry().select(_error(ErrorType.INTERNAL_ERROR))
    assert chosen is not None
    assert chosen.name == "Generic"


def test_configuration_overrides_timeout_and_attempts() -> None:
    registry = _registry(Sync=StrategySettings(timeout_s=7, max_attempts=9))
    assert registry["Sync"].timeout == timedelta(seconds=7)
    assert registry["Sync"].max_attempts == 9
    assert registry["Generic"].max_attempts == Generic.max_attempts


def test_configuring_an_unknown_strategy_is_an_error() -> None:
    with pytest.raises(RegistryError, match=r"strategies\.Syncc names no registered strategy"):
        _registry(Syncc=StrategySettings(enabled=False))


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(RegistryError, match="two strategies are named 'Generic'"):
        StrategyRegistry([Generic(), Generic()])


def _install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    """A real installed distribution (dist-info + entry_points.txt) on sys.path."""
    (tmp_path / "tmc_plugin_example.py").write_text(
        "from tests.strategies.planned import Generic\n"
        "class Database(Generic):\n"
        "    name = 'Database'\n"
        "broken = 'not a strategy'\n"
    )
    dist = tmp_path / "tmc_plugin_example-1.0.dist-info"
    dist.mkdir()
    metadata = "Metadata-Version: 2.1\nName: tmc-plugin-example\nVersion: 1.0\n"
    (dist / "METADATA").write_text(metadata)
    (dist / "entry_points.txt").write_text(f"[tmc_recovery.strategies]\ndatabase = {target}\n")
    monkeypatch.syspath_prepend(str(tmp_path))


def _instantiate(obj: object) -> RecoveryStrategy:
    return obj() if isinstance(obj, type) else obj  # type: ignore[return-value]


def test_plugins_load_from_entry_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_plugin(tmp_path, monkeypatch, "tmc_plugin_example:Database")
    loaded = plugin_strategies(_instantiate)
    assert [s.name for s in loaded] == ["Database"]


def test_a_plugin_that_is_not_a_strategy_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_plugin(tmp_path, monkeypatch, "tmc_plugin_example:broken")
    with pytest.raises(RegistryError, match=r"plugin 'database'.*is not a RecoveryStrategy"):
        plugin_strategies(_instantiate)


def test_a_plugin_that_fails_to_import_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_plugin(tmp_path, monkeypatch, "tmc_plugin_missing:Nope")
    with pytest.raises(RegistryError, match=r"plugin 'database'.*ModuleNotFoundError"):
        plugin_strategies(_instantiate)
