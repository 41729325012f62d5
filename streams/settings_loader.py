"""Load pydantic settings and turn validation failures into one line naming the field."""

from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from schemas.errors import TmcRecoveryError

SettingsT = TypeVar("SettingsT", bound=BaseSettings)


class ConfigError(TmcRecoveryError):
    """A configuration value is missing or invalid."""


def describe(error: ValidationError, env_prefix: str) -> str:
    """``TMC_KAFKA_PORT=70000: Input should be less than or equal to 65535; ...``"""
    parts = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "settings"
        name = f"{env_prefix}{field.upper()}" if env_prefix else field
        value = problem.get("input")
        shown = f"={value}" if isinstance(value, str | int | float) else ""
        parts.append(f"{name}{shown}: {problem['msg']}")
    return "; ".join(parts)


def load_settings(cls: type[SettingsT], **overrides: Any) -> SettingsT:
    """``cls`` from its environment plus ``overrides``; ConfigError when invalid."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix") or "")
        raise ConfigError(f"bad configuration: {describe(exc, prefix)}") from None
