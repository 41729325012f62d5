"""Custom strategies beside the built-ins: from ``register_strategy`` (embedding) and from an
entry point; each wins over a built-in exactly when its priority is higher."""

from pathlib import Path

import pytest

from schemas.records import ErrorType, TMCError
from strategies.adapters.offline import NoFleet
from strategies.base import RecoveryStrategy
from strategies.builtin import builtin_strategies
from strategies.registry import (
    StrategyRegistry,
    StrategyRegistryError,
    embedded_strategies,
    plugin_strategies,
    register_strategy,
)
from tests.strategies.kube_objects import WEB
from tests.strategies.planned import planned
from tests.strategies.scenario import error

CONFLICT = error(ErrorType.RESOURCE_CONFLICT, ref=WEB)


@pytest.fixture(autouse=True)
def no_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("strategies.registry._embedded", {})


def chosen(strategies: list[RecoveryStrategy], failure: TMCError = CONFLICT) -> str | None:
    selected = StrategyRegistry([*builtin_strategies(NoFleet()), *strategies]).select(failure)
    return None if selected is None else selected.name


@pytest.mark.parametrize(("priority", "winner"), [(75, "MyResolver"), (65, "ResourceConflict")])
def test_a_registered_strategy_wins_when_its_priority_is_higher(priority: int, winner: str) -> None:
    register_strategy(ErrorType.RESOURCE_CONFLICT, planned("MyResolver", set(), priority))
    assert [s.name for s in embedded_strategies()] == ["MyResolver"]
    assert chosen(embedded_strategies()) == winner


def test_registering_adds_types_to_the_one_instance() -> None:
    custom = planned("Custom", {ErrorType.DATABASE}, 20)
    register_strategy(ErrorType.WORKLOAD_FAILURE, custom)
    register_strategy(ErrorType.WORKLOAD_FAILURE, custom)
    assert custom.error_types == {ErrorType.DATABASE, ErrorType.WORKLOAD_FAILURE}
    assert chosen(embedded_strategies(), error(ErrorType.WORKLOAD_FAILURE)) == "Custom"
    assert type(custom).error_types == {ErrorType.DATABASE}
    with pytest.raises(StrategyRegistryError, match="two strategies are named 'Custom'"):
        register_strategy(ErrorType.DATABASE, planned("Custom", set(), 1))


def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, priority: int) -> None:
    """An installed distribution whose entry point is a ResourceConflict strategy."""
    module = f"tmc_merge_plugin_{priority}"  # one per priority: imports are cached
    (tmp_path / f"{module}.py").write_text(
        "from schemas.records import ErrorType\n"
        "from tests.strategies.planned import planned\n"
        "def build():\n"
        f"    return planned('Merger', {{ErrorType.RESOURCE_CONFLICT}}, {priority})\n"
    )
    dist = tmp_path / f"{module}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tmc-merge-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[tmc_recovery.strategies]\nmerger = {module}:build\n")
    monkeypatch.syspath_prepend(str(tmp_path))


@pytest.mark.parametrize(("priority", "winner"), [(71, "Merger"), (69, "ResourceConflict")])
def test_an_entry_point_strategy_wins_when_its_priority_is_higher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, priority: int, winner: str
) -> None:
    install(tmp_path, monkeypatch, priority)
    plugins = plugin_strategies(lambda factory: factory())  # type: ignore[operator]
    assert chosen(plugins) == winner
