"""Load pydantic settings and turn validation failures into one line naming the field."""

import re
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsError

from schemas.errors import TmcRecoveryError

SettingsT = TypeVar("SettingsT", bound=BaseSettings)

# pydantic-settings' words for a TMC_* variable whose JSON does not parse
_UNPARSED = re.compile(r'error parsing value for field "([^"]+)" from source "([^"]+)"')


class ConfigError(TmcRecoveryError):
    """A configuration value is missing or invalid."""


def describe(error: ValidationError, env_prefix: str) -> str:
    """``topics.partitions (env TMC_TOPICS__PARTITIONS) = 'zero': Input should be ...``"""
    parts = []
    for problem in error.errors():
        path = [str(part) for part in problem["loc"]]
        dotted = ".".join(path) or "settings"
        env_name = f"{env_prefix}{'__'.join(path).upper()}"
        value = problem.get("input")
        shown = f" = {value!r}" if isinstance(value, str | int | float) else ""
        parts.append(f"{dotted} (env {env_name}){shown}: {problem['msg']}")
    return "; ".join(parts)


def load_settings(cls: type[SettingsT], **overrides: Any) -> SettingsT:
    """``cls`` from its environment plus ``overrides``; ConfigError when invalid."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix") or "")
        raise ConfigError(f"bad configuration: {describe(exc, prefix)}") from None
    except SettingsError as exc:
        prefix = str(cls.model_config.get("env_prefix") or "")
        raise ConfigError(f"bad configuration: {_unparsed(exc, prefix)}") from None


def _unparsed(error: SettingsError, env_prefix: str) -> str:
    """``strategyConfigs (env TMC_STRATEGYCONFIGS): not valid JSON: Expecting ...``"""
    found = _UNPARSED.search(str(error))
    if found is None:
        return str(error)
    field, source = found.groups()
    where = f"env {env_prefix}{field.upper()}" if source.startswith("Env") else source
    cause = error.__cause__
    why = f"not valid JSON: {cause}" if cause is not None else "cannot be parsed"
    return f"{field} ({where}): {why}"
