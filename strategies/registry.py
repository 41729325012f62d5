"""Which strategy heals an error: registration by error type, configuration, and selection.

The selection rules (``StrategyRegistry.select``), each pinned by a test:

1. Only strategies registered for the error's type are candidates, and of those only the
   ones that are enabled and whose ``can_recover`` accepts the error. An error of a custom
   type (TMCError v3's ``custom_type``, its ``type`` then UNKNOWN) has as candidates the
   strategies that declare that custom type (``custom_types``), and only those: a strategy
   registered for UNKNOWN does not take it.
2. The candidate with the highest (configured) priority wins. Equal priorities go to the
   name that sorts first, so the choice never depends on registration order (plugins load
   in entry-point order, built-ins in code order) or on an unordered map, as the seed's did.
3. Only when no typed candidate exists, and only for a retryable error, the strategies
   registered for no type and no custom type (the Generic fallback) are tried by the same
   rules. A non-retryable error that no typed strategy takes is escalated (None), whatever
   the fallback's own ``can_recover`` says. A custom type counts as a type here, as the
   issue's "any retryable error with no typed strategy" reads: a retryable custom error no
   strategy declares goes to Generic, a non-retryable one is escalated. That is also what a
   worker reading only TMCError v2 does with it (an UNKNOWN error), so the two never differ.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from importlib.metadata import entry_points

from schemas.errors import TmcRecoveryError
from schemas.records import ErrorType, TMCError, parse_error_type
from strategies.base import RecoveryStrategy
from strategies.settings import StrategySettings

ENTRY_POINT_GROUP = "tmc_recovery.strategies"

#: Strategies given to ``register_strategy`` in this process, by name.
_embedded: dict[str, RecoveryStrategy] = {}


class StrategyRegistryError(TmcRecoveryError):
    """A strategy could not be registered, configured or loaded."""


@dataclass(frozen=True)
class ConfiguredStrategy:
    """A strategy with its effective (default or configured) knobs."""

    strategy: RecoveryStrategy
    priority: int
    timeout: timedelta
    max_attempts: int
    enabled: bool

    @property
    def name(self) -> str:
        return self.strategy.name


def configure(strategy: RecoveryStrategy, settings: StrategySettings | None) -> ConfiguredStrategy:
    settings = settings or StrategySettings()
    timeout = strategy.timeout
    if settings.timeout_s is not None:
        timeout = timedelta(seconds=settings.timeout_s)
    return ConfiguredStrategy(
        strategy=strategy,
        priority=strategy.priority if settings.priority is None else settings.priority,
        timeout=timeout,
        max_attempts=(
            strategy.max_attempts if settings.max_attempts is None else settings.max_attempts
        ),
        enabled=settings.enabled,
    )


class StrategyRegistry:
    """Strategies by name and by the error types they register for."""

    def __init__(
        self,
        strategies: Iterable[RecoveryStrategy],
        settings: Mapping[str, StrategySettings] | None = None,
    ) -> None:
        self._strategies: dict[str, RecoveryStrategy] = {}
        for strategy in strategies:
            if strategy.name in self._strategies:
                raise StrategyRegistryError(f"two strategies are named {strategy.name!r}")
            self._strategies[strategy.name] = strategy
        #: Each strategy's configured timeout, by name; updated in place by ``reconfigure``,
        #: so the executor holding it runs every new attempt with the latest.
        self.timeouts: dict[str, timedelta] = {}
        self.reconfigure(settings or {})

    def reconfigure(self, settings: Mapping[str, StrategySettings]) -> None:
        """Configure every strategy anew (a runtime apply): what the next selection, and the
        next attempt, see. Nothing changes when ``settings`` names an unknown strategy."""
        unknown = sorted(set(settings) - set(self._strategies))
        if unknown:
            raise StrategyRegistryError(
                f"bad configuration: strategies.{unknown[0]} names no registered "
                f"strategy (known: {', '.join(sorted(self._strategies))})"
            )
        by_name = {n: configure(s, settings.get(n)) for n, s in self._strategies.items()}
        by_type: dict[ErrorType, list[ConfiguredStrategy]] = defaultdict(list)
        by_custom: dict[str, list[ConfiguredStrategy]] = defaultdict(list)
        fallbacks: list[ConfiguredStrategy] = []
        for configured in self._ranked(by_name.values()):
            types, custom = configured.strategy.error_types, configured.strategy.custom_types
            for error_type in types:
                by_type[error_type].append(configured)
            for custom_type in custom:
                by_custom[custom_type].append(configured)
            if not types and not custom:
                fallbacks.append(configured)
        self._by_name, self._by_type, self._fallbacks = by_name, by_type, fallbacks
        self._by_custom = by_custom
        self.timeouts.update((name, c.timeout) for name, c in by_name.items())

    @staticmethod
    def _ranked(items: Iterable[ConfiguredStrategy]) -> list[ConfiguredStrategy]:
        """Best first: highest priority, then name (the deterministic tie-break)."""
        return sorted(items, key=lambda c: (-c.priority, c.name))

    def __getitem__(self, name: str) -> ConfiguredStrategy:
        return self._by_name[name]

    def __iter__(self) -> Iterator[ConfiguredStrategy]:
        return iter(self._by_name.values())

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def select(self, error: TMCError) -> ConfiguredStrategy | None:
        """The strategy for ``error``, or None when nothing may act on it (escalate)."""
        typed = (
            self._by_type.get(error.type, ())
            if error.custom_type is None
            else self._by_custom.get(error.custom_type, ())
        )
        for configured in typed:
            if configured.enabled and configured.strategy.can_recover(error):
                return configured
        if not error.is_retryable():
            return None
        for configured in self._fallbacks:
            if configured.enabled and configured.strategy.can_recover(error):
                return configured
        return None


def register_strategy(error_type: ErrorType | str, strategy: RecoveryStrategy) -> None:
    """The Go design's ``RegisterStrategy``, for a program that embeds the worker: from now
    on ``strategy`` is registered for ``error_type`` (besides the types it declares) and the
    worker runs it beside the built-ins and the entry-point plugins (``embedded_strategies``).
    ``error_type`` is an ErrorType or its symbol, or the name of a custom type
    (``"CustomApplication"``), which joins the strategy's ``custom_types``.
    Selection is unchanged, so it wins where its priority is the highest. Register before
    the worker starts: its request topic and agent are made at start."""
    known = _embedded.get(strategy.name)
    if known is not None and known is not strategy:
        raise StrategyRegistryError(f"two strategies are named {strategy.name!r}")
    try:
        symbol, custom_type = parse_error_type(error_type)
    except ValueError as exc:
        raise StrategyRegistryError(f"cannot register {strategy.name!r}: {exc}") from exc
    if custom_type is None:
        strategy.error_types = strategy.error_types | {symbol}
    else:
        strategy.custom_types = strategy.custom_types | {custom_type}
    _embedded[strategy.name] = strategy


def embedded_strategies() -> list[RecoveryStrategy]:
    """What ``register_strategy`` registered in this process, in registration order."""
    return list(_embedded.values())


def plugin_strategies(
    build: Callable[[object], RecoveryStrategy], group: str = ENTRY_POINT_GROUP
) -> list[RecoveryStrategy]:
    """Custom strategies from installed packages' entry points.

    Each entry point names a strategy class or factory; ``build`` turns it into an
    instance (giving it the cluster gateway). A broken plugin is a StrategyRegistryError
    naming it, not a crash in the middle of triage.
    """
    found = []
    for point in sorted(entry_points(group=group), key=lambda p: p.name):
        try:
            strategy = build(point.load())
        except Exception as exc:
            raise StrategyRegistryError(
                f"strategy plugin {point.name!r} ({point.value}) failed to load: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(strategy, RecoveryStrategy):
            raise StrategyRegistryError(
                f"strategy plugin {point.name!r} ({point.value}) is not a RecoveryStrategy"
            )
        found.append(strategy)
    return found
