"""Per-strategy configuration: the knobs that override a strategy's declared defaults.

The model lives with the strategies (the service's configuration imports it from here), so
the registry, and a plugin author, need nothing from ``streams``.
"""

from pydantic import BaseModel, ConfigDict, Field


class StrategySettings(BaseModel):
    """Overrides of one strategy's built-in defaults; None keeps the default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    priority: int | None = None
    timeout_s: float | None = Field(default=None, gt=0)
    max_attempts: int | None = Field(default=None, ge=1)
