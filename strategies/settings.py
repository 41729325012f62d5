"""Per-strategy configuration: the knobs that override a strategy's declared defaults.

The model lives with the strategies (the service's configuration imports it from here),
so the registry needs nothing from ``streams``. The registry reads any object shaped like
``StrategyOverrides``; ``StrategySettings`` is the validated one a configuration file gives.
"""

from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


class StrategyOverrides(Protocol):
    """What the registry reads from one strategy's configuration; None keeps the default."""

    @property
    def enabled(self) -> bool: ...

    @property
    def priority(self) -> int | None: ...

    @property
    def timeout_s(self) -> float | None: ...

    @property
    def max_attempts(self) -> int | None: ...


class StrategySettings(BaseModel):
    """Overrides of one strategy's built-in defaults; None keeps the default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    priority: int | None = None
    timeout_s: float | None = Field(default=None, gt=0)
    max_attempts: int | None = Field(default=None, ge=1)
