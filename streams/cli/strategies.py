"""The strategies a worker runs: the built-ins plus custom ones from entry points and from
``register_strategy`` (a program embedding the worker).

One list for every command that needs it: the worker (acting through the fleet's API
servers) and ``topics create`` (which needs only their names, for the request topics, and
may run where there is no fleet file).
"""

from strategies.adapters.offline import NoFleet
from strategies.base import RecoveryStrategy
from strategies.builtin import builtin_strategies
from strategies.gateway import ClusterGateway
from strategies.registry import embedded_strategies, plugin_strategies

__all__ = ["NoFleet", "worker_strategies"]


def worker_strategies(gateway: ClusterGateway) -> list[RecoveryStrategy]:
    """Every strategy a worker registers, each given ``gateway``."""

    def with_gateway(factory: object) -> RecoveryStrategy:
        if not callable(factory):
            raise TypeError("a strategy plugin must be a class or factory taking the gateway")
        strategy: RecoveryStrategy = factory(gateway)
        return strategy

    return [*builtin_strategies(gateway), *plugin_strategies(with_gateway), *embedded_strategies()]
