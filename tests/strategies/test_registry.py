"""Strategy selection, configuration and plugin loading (pure logic)."""

import itertools
import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.records import ErrorType, TMCError
from strategies.base import RecoveryStrategy
from strategies.registry import StrategyRegistry, StrategyRegistryError, plugin_strategies
from strategies.settings import StrategySettings
from tests.strategies.planned import Generic, planned


def _error(
    error_type: ErrorType, retryable: bool | None = None, cluster: str | None = "edge-1"
) -> TMCError:
    builder = TMCError.build(error_type, "syncer", "op")
    if cluster is not None:
        builder = builder.with_cluster(cluster)
    if retryable is not None:
        builder = builder.with_retryable(retryable)
    return builder.build()


def _strategies() -> list[RecoveryStrategy]:
    return [
        planned("ClusterConnectivity", {ErrorType.CLUSTER_UNREACHABLE}, 80),
        planned("ClusterAuthentication", {ErrorType.CLUSTER_AUTHENTICATION}, 90),
        planned("Sync", {ErrorType.SYNC_FAILURE, ErrorType.SYNC_TIMEOUT}, 50),
        planned("SyncTurbo", {ErrorType.SYNC_FAILURE}, 50),
        Generic(),
    ]


def _registry(**settings: StrategySettings) -> StrategyRegistry:
    return StrategyRegistry(_strategies(), settings)


def _chosen(registry: StrategyRegistry, error: TMCError) -> str | None:
    configured = registry.select(error)
    return None if configured is None else configured.name


class CatchAll(Generic):
    """A fallback plugin that does not check retryability itself: the registry must."""

    name = "CatchAll"

    def can_recover(self, error: TMCError) -> bool:
        return True


def _needs_cluster(error: TMCError) -> bool:
    return error.cluster_name is not None


def test_selects_the_strategy_registered_for_the_type() -> None:
    assert _chosen(_registry(), _error(ErrorType.CLUSTER_UNREACHABLE)) == "ClusterConnectivity"


def test_highest_priority_wins_whatever_the_registration_order() -> None:
    low = planned("Aaa", {ErrorType.SYNC_FAILURE}, 40)
    high = planned("Zzz", {ErrorType.SYNC_FAILURE}, 60)
    for order in ([low, high], [high, low]):
        assert _chosen(StrategyRegistry(order), _error(ErrorType.SYNC_FAILURE)) == "Zzz"


# Rule 2: equal priorities go to the first name, not to the first (or last) registered.
@pytest.mark.parametrize("reverse", [False, True], ids=["by-name", "reversed"])
def test_equal_priority_is_broken_by_name_not_by_registration_order(reverse: bool) -> None:
    strategies = _strategies()
    if reverse:
        strategies.reverse()
    registry = StrategyRegistry(strategies)
    assert _chosen(registry, _error(ErrorType.SYNC_FAILURE)) == "Sync"


def test_equal_priority_tie_break_holds_for_every_registration_order() -> None:
    names = ["Delta", "alpha", "Bravo", "Charlie"]
    expected = min(names)  # "Bravo": plain code-point order, upper case first
    for order in itertools.permutations(names):
        registry = StrategyRegistry([planned(n, {ErrorType.SYNC_FAILURE}, 50) for n in order])
        assert _chosen(registry, _error(ErrorType.SYNC_FAILURE)) == expected, order


def test_configured_priority_changes_the_choice() -> None:
    registry = _registry(SyncTurbo=StrategySettings(priority=60))
    chosen = registry.select(_error(ErrorType.SYNC_FAILURE))
    assert chosen is not None
    assert chosen.name == "SyncTurbo"
    assert chosen.priority == 60


def test_configured_priority_can_demote_a_strategy() -> None:
    registry = _registry(Sync=StrategySettings(priority=1))
    assert _chosen(registry, _error(ErrorType.SYNC_FAILURE)) == "SyncTurbo"


def test_disabled_strategy_gives_way_to_the_next_typed_one() -> None:
    registry = _registry(Sync=StrategySettings(enabled=False))
    assert _chosen(registry, _error(ErrorType.SYNC_FAILURE)) == "SyncTurbo"


def test_disabled_strategy_falls_through_to_generic_for_retryable_errors() -> None:
    registry = _registry(ClusterConnectivity=StrategySettings(enabled=False))
    assert _chosen(registry, _error(ErrorType.CLUSTER_UNREACHABLE)) == "Generic"


def test_disabled_fallback_is_never_used() -> None:
    registry = _registry(
        Generic=StrategySettings(enabled=False),
        ClusterConnectivity=StrategySettings(enabled=False),
    )
    assert _chosen(registry, _error(ErrorType.INTERNAL_ERROR)) is None
    assert _chosen(registry, _error(ErrorType.CLUSTER_UNREACHABLE)) is None
    assert registry["Generic"].enabled is False


def test_disabled_fallback_gives_way_to_an_enabled_one() -> None:
    registry = StrategyRegistry(
        [Generic(), CatchAll()], {"Generic": StrategySettings(enabled=False, priority=99)}
    )
    assert _chosen(registry, _error(ErrorType.INTERNAL_ERROR)) == "CatchAll"


def test_non_retryable_error_without_strategy_escalates() -> None:
    assert _chosen(_registry(), _error(ErrorType.RESOURCE_NOT_FOUND)) is None


def test_non_retryable_errors_never_reach_the_fallback() -> None:
    """Even a fallback whose own can_recover takes everything: the registry decides."""
    registry = StrategyRegistry([*_strategies()[:-1], CatchAll()])
    assert _chosen(registry, _error(ErrorType.INTERNAL_ERROR)) == "CatchAll"
    assert _chosen(registry, _error(ErrorType.RESOURCE_NOT_FOUND)) is None
    # A usually retryable type that the emitter marked non-retryable escalates too.
    assert _chosen(registry, _error(ErrorType.SYNC_TIMEOUT, retryable=False)) == "Sync"
    assert _chosen(registry, _error(ErrorType.MIGRATION_TIMEOUT, retryable=False)) is None
    disabled = StrategyRegistry(
        [CatchAll(), planned("Sync", {ErrorType.SYNC_FAILURE}, 50)],
        {"Sync": StrategySettings(enabled=False)},
    )
    assert _chosen(disabled, _error(ErrorType.SYNC_FAILURE, retryable=False)) is None


def test_typed_strategy_takes_non_retryable_errors_of_its_type() -> None:
    registry = StrategyRegistry(
        [planned("NotFound", {ErrorType.RESOURCE_NOT_FOUND}, 30), CatchAll()]
    )
    assert _chosen(registry, _error(ErrorType.RESOURCE_NOT_FOUND)) == "NotFound"


def test_typed_strategy_whose_can_recover_refuses_is_skipped() -> None:
    picky = planned("Picky", {ErrorType.SYNC_FAILURE}, 90, accepts=_needs_cluster)
    registry = StrategyRegistry([picky, planned("Sync", {ErrorType.SYNC_FAILURE}, 50)])
    assert _chosen(registry, _error(ErrorType.SYNC_FAILURE)) == "Picky"
    assert _chosen(registry, _error(ErrorType.SYNC_FAILURE, cluster=None)) == "Sync"


def test_typed_strategy_that_refuses_leaves_retryable_errors_to_the_fallback() -> None:
    picky = planned("Picky", {ErrorType.CLUSTER_UNREACHABLE}, 80, accepts=_needs_cluster)
    registry = StrategyRegistry([picky, Generic()])
    no_cluster = _error(ErrorType.CLUSTER_UNREACHABLE, cluster=None)
    assert _chosen(registry, no_cluster) == "Generic"
    assert _chosen(registry, _error(ErrorType.CLUSTER_UNREACHABLE)) == "Picky"
    non_retryable = _error(ErrorType.CLUSTER_UNREACHABLE, retryable=False, cluster=None)
    assert _chosen(registry, non_retryable) is None


def test_fallback_whose_can_recover_refuses_is_skipped() -> None:
    picky = planned("Picky", set(), 90, accepts=_needs_cluster)
    registry = StrategyRegistry([picky, Generic()])
    assert _chosen(registry, _error(ErrorType.INTERNAL_ERROR)) == "Picky"
    assert _chosen(registry, _error(ErrorType.INTERNAL_ERROR, cluster=None)) == "Generic"
    assert (
        _chosen(StrategyRegistry([picky]), _error(ErrorType.INTERNAL_ERROR, cluster=None)) is None
    )


def test_fallback_is_last_even_with_a_higher_priority() -> None:
    registry = _registry(Generic=StrategySettings(priority=1000))
    assert _chosen(registry, _error(ErrorType.SYNC_FAILURE)) == "Sync"


def test_generic_takes_retryable_errors_nobody_registered_for() -> None:
    assert _chosen(_registry(), _error(ErrorType.INTERNAL_ERROR)) == "Generic"


# The rules as a reference model, checked on random registries: any rule a change breaks
# (priority, tie-break, enabled, can_recover, retryable-only fallback) fails here too.
TYPES = [ErrorType.SYNC_FAILURE, ErrorType.CLUSTER_UNREACHABLE, ErrorType.INTERNAL_ERROR]


@dataclass(frozen=True)
class Spec:
    name: str
    types: frozenset[ErrorType]
    priority: int
    enabled: bool
    accepts: bool
    configured_priority: int | None

    def build(self) -> RecoveryStrategy:
        accepts = self.accepts
        return planned(self.name, set(self.types), self.priority, lambda _: accepts)

    def settings(self) -> StrategySettings:
        return StrategySettings(enabled=self.enabled, priority=self.configured_priority)

    @property
    def effective_priority(self) -> int:
        return self.priority if self.configured_priority is None else self.configured_priority


def expected_choice(specs: list[Spec], error_type: ErrorType, retryable: bool) -> str | None:
    def best(candidates: list[Spec]) -> str | None:
        usable = [s for s in candidates if s.enabled and s.accepts]
        if not usable:
            return None
        top = max(s.effective_priority for s in usable)
        return min(s.name for s in usable if s.effective_priority == top)

    typed = best([s for s in specs if error_type in s.types])
    if typed is not None or not retryable:
        return typed
    return best([s for s in specs if not s.types])


specs = st.lists(
    st.builds(
        Spec,
        name=st.sampled_from(["A", "B", "C", "D", "E", "F"]),
        types=st.frozensets(st.sampled_from(TYPES), max_size=2),
        priority=st.integers(0, 3),
        enabled=st.booleans(),
        accepts=st.booleans(),
        configured_priority=st.none() | st.integers(0, 3),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda s: s.name,
)


@settings(max_examples=300, deadline=None)
@given(specs, st.sampled_from(TYPES), st.booleans(), st.randoms(use_true_random=False))
def test_selection_follows_the_rules(
    chosen_specs: list[Spec], error_type: ErrorType, retryable: bool, rnd: random.Random
) -> None:
    order = list(chosen_specs)
    rnd.shuffle(order)
    registry = StrategyRegistry(
        [s.build() for s in order], {s.name: s.settings() for s in chosen_specs}
    )
    error = _error(error_type, retryable=retryable)
    assert _chosen(registry, error) == expected_choice(chosen_specs, error_type, retryable)


def test_configuration_overrides_timeout_and_attempts() -> None:
    registry = _registry(Sync=StrategySettings(timeout_s=7, max_attempts=9))
    assert registry["Sync"].timeout == timedelta(seconds=7)
    assert registry["Sync"].max_attempts == 9
    assert registry["Generic"].max_attempts == Generic.max_attempts


def test_configuring_an_unknown_strategy_is_an_error() -> None:
    with pytest.raises(
        StrategyRegistryError, match=r"strategies\.Syncc names no registered strategy"
    ):
        _registry(Syncc=StrategySettings(enabled=False))


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(StrategyRegistryError, match="two strategies are named 'Generic'"):
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
    with pytest.raises(
        StrategyRegistryError, match=r"plugin 'database'.*is not a RecoveryStrategy"
    ):
        plugin_strategies(_instantiate)


def test_a_plugin_that_fails_to_import_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_plugin(tmp_path, monkeypatch, "tmc_plugin_missing:Nope")
    with pytest.raises(StrategyRegistryError, match=r"plugin 'database'.*ModuleNotFoundError"):
        plugin_strategies(_instantiate)
