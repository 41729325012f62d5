"""RecoveryManagerConfig and StrategyConfig, accepted as the Go design writes them.

The fields keep their Go names, camelCase in Python too (an alias would hide them from the
TMC_* variables), so a Go operator's config reads as it is. Durations take Go's form ("30s",
"1m30s") or a number of seconds. Every field is optional: what is not given leaves the
service's own setting alone (streams/runtime_config/resolve.py).
"""

import re
from collections.abc import Iterable
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from schemas.records import ErrorType

_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)")


def go_seconds(value: object) -> object:
    """A Go duration string ("1m30s") as seconds; anything else is left to pydantic."""
    if not isinstance(value, str) or not value or _number(value):
        return value
    parts = _PART.findall(value)
    if "".join(number + unit for number, unit in parts) != value:
        raise ValueError(f"{value!r} is not a duration such as 30s, 1m30s or 2h")
    return sum(float(number) * _UNIT_S[unit] for number, unit in parts)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


Seconds = Annotated[float, BeforeValidator(go_seconds), Field(gt=0)]


class _GoSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecoveryManagerConfig(_GoSection):
    """The Go design's RecoveryManagerConfig. ``recoveryTimeout`` caps every strategy's
    timeout; ``retryAttempts`` is the attempts of a strategy given none of its own;
    ``enabledStrategies`` is an allow-list: a strategy it leaves out is disabled."""

    maxConcurrentRecoveries: int | None = Field(default=None, ge=1, le=10_000)
    recoveryTimeout: Seconds | None = None
    healthCheckInterval: Seconds | None = None
    retryAttempts: int | None = Field(default=None, ge=1)
    enabledStrategies: frozenset[str] | None = None


class StrategyConfig(_GoSection):
    """The Go design's StrategyConfig, given per error type (``ConfigureStrategies``): it
    configures the strategies registered for that type. ``maxRetries`` counts attempts, as
    the Go manager passes it on as the recovery's MaxAttempts."""

    priority: int | None = None
    timeout: Seconds | None = None
    maxRetries: int | None = Field(default=None, ge=1)


def _spelled(name: object, names: Iterable[str]) -> object:
    """``name`` as one of ``names`` spells it, whatever its case (unknown: as it came)."""
    by_case = {known.lower(): known for known in names}
    return by_case.get(name.lower(), name) if isinstance(name, str) else name


def by_error_type(value: object) -> object:
    """``strategyConfigs`` with its names spelled as the Go design does, whatever their case:
    TMC_* variable names reach the settings lowercased (``TMC_STRATEGYCONFIGS__SyncFailure__
    maxRetries`` gives ``syncfailure`` and ``maxretries``). Entries that name one error type
    (the file's ``SyncFailure`` and a variable's ``syncfailure``) are merged knob by knob, the
    later winning: the environment's, which the settings sources put after the file's."""
    if not isinstance(value, dict):
        return value
    merged: dict[object, object] = {}
    for key, knobs in value.items():
        name = _spelled(key, [error_type.value for error_type in ErrorType])
        if isinstance(knobs, dict):
            knobs = {_spelled(knob, StrategyConfig.model_fields): v for knob, v in knobs.items()}
            earlier = merged.get(name)
            knobs = {**earlier, **knobs} if isinstance(earlier, dict) else knobs
        merged[name] = knobs
    return merged


#: ``strategyConfigs``: StrategyConfig per error type, from the file or TMC_* variables.
StrategyConfigs = Annotated[dict[ErrorType, StrategyConfig], BeforeValidator(by_error_type)]
