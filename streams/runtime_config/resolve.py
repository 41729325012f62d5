"""Both vocabularies onto the one configuration a worker acts on.

The Go design's RecoveryManagerConfig and per-error-type StrategyConfig are another way to
write the per-strategy settings and ``execution.max_concurrent``; after resolving, only the
per-strategy form is left (every knob of every strategy set), so the registry, triage and the
executor read one thing. The rules (README, "Configuration"):

- a knob given in two places must agree, or the configuration is refused naming both fields:
  ``execution.max_concurrent`` and ``maxConcurrentRecoveries``; ``strategies.<name>.enabled``
  and ``enabledStrategies``; a strategy's priority, timeout or attempts under
  ``strategies.<name>`` and under ``strategyConfigs.<error type>`` of a type it serves;
- the general setting gives way: ``retryAttempts`` sets the attempts only of a strategy given
  none (under either name);
- ``recoveryTimeout`` caps every timeout, configured or built in.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from strategies.base import RecoveryStrategy
from strategies.settings import StrategySettings
from streams.config import Tunables
from streams.settings_loader import ConfigError


@dataclass(frozen=True)
class Effective:
    """Concurrency and every strategy's knobs, all set: what a worker acts on."""

    max_concurrent: int
    strategies: dict[str, StrategySettings]


@dataclass(frozen=True)
class _Given:
    field: str  # the dotted name an operator wrote
    value: Any


def resolve(tunables: Tunables, strategies: Sequence[RecoveryStrategy]) -> Effective:
    """The effective configuration for ``strategies``; ConfigError naming every bad field."""
    problems = _unknown_names(tunables, strategies)
    manager, execution = tunables.recoveryManager, tunables.execution
    concurrency = [
        _Given("recoveryManager.maxConcurrentRecoveries", manager.maxConcurrentRecoveries)
    ]
    if "max_concurrent" in execution.model_fields_set:
        concurrency.append(_Given("execution.max_concurrent", execution.max_concurrent))
    max_concurrent = _agreed(concurrency, execution.max_concurrent, problems)
    resolved = {s.name: _strategy(tunables, s, problems) for s in strategies}
    if problems:
        raise ConfigError(f"bad configuration: {'; '.join(problems)}")
    return Effective(max_concurrent, resolved)


def _unknown_names(tunables: Tunables, strategies: Sequence[RecoveryStrategy]) -> list[str]:
    known = {s.name for s in strategies}
    served = {error_type for s in strategies for error_type in s.error_types}
    listed = ", ".join(sorted(known))
    problems = [
        f"strategies.{name} names no registered strategy (known: {listed})"
        for name in sorted(set(tunables.strategies) - known)
    ]
    allowed = tunables.recoveryManager.enabledStrategies or frozenset()
    problems += [
        f"recoveryManager.enabledStrategies: {name} names no registered strategy (known: {listed})"
        for name in sorted(allowed - known)
    ]
    problems += [
        f"strategyConfigs.{error_type.value}: no strategy is registered for that error type"
        for error_type in tunables.strategyConfigs
        if error_type not in served
    ]
    return problems


def _strategy(
    tunables: Tunables, strategy: RecoveryStrategy, problems: list[str]
) -> StrategySettings:
    own = tunables.strategies.get(strategy.name, StrategySettings())
    manager = tunables.recoveryManager
    by_type = [
        (error_type.value, config)
        for error_type, config in sorted(tunables.strategyConfigs.items())
        if error_type in strategy.error_types
    ]
    prefix = f"strategies.{strategy.name}"

    def knob(own_field: str, go_field: str, attribute: str) -> list[_Given]:
        given = [_Given(f"{prefix}.{own_field}", getattr(own, own_field))]
        given += [
            _Given(f"strategyConfigs.{name}.{go_field}", getattr(config, attribute))
            for name, config in by_type
        ]
        return given

    enabled = [
        _Given(
            "recoveryManager.enabledStrategies", _allowed(manager.enabledStrategies, strategy.name)
        )
    ]
    if "enabled" in own.model_fields_set:
        enabled.insert(0, _Given(f"{prefix}.enabled", own.enabled))
    timeout_s = _agreed(
        knob("timeout_s", "timeout", "timeout"), strategy.timeout.total_seconds(), problems
    )
    if manager.recoveryTimeout is not None:
        timeout_s = min(timeout_s, manager.recoveryTimeout)
    attempts_default = manager.retryAttempts or strategy.max_attempts
    return StrategySettings(
        enabled=_agreed(enabled, True, problems),
        priority=_agreed(knob("priority", "priority", "priority"), strategy.priority, problems),
        timeout_s=timeout_s,
        max_attempts=_agreed(
            knob("max_attempts", "maxRetries", "maxRetries"), attempts_default, problems
        ),
    )


def _allowed(allow_list: frozenset[str] | None, name: str) -> bool | None:
    return None if allow_list is None else name in allow_list


def _agreed(given: Iterable[_Given], default: Any, problems: list[str]) -> Any:
    """The one value the fields that are set agree on, else ``default``; a disagreement is a
    problem naming the first two fields that differ."""
    values = [g for g in given if g.value is not None]
    for other in values[1:]:
        if other.value != values[0].value:
            first = values[0]
            problems.append(
                f"{first.field} = {first.value!r} conflicts with {other.field} = "
                f"{other.value!r}: give one, or the same value"
            )
            return first.value
    return values[0].value if values else default
