"""The effective configuration as ``config show`` prints it: the worker's settings with the
tunable sections as in force (the last apply, resolved), secrets masked. The Go design's
sections are shown too, as given (file and TMC_* variables, or the last apply), beside the
per-strategy knobs they resolved into."""

import re
from typing import Any

from streams.config import ServiceSettings
from streams.runtime_config.record import Applied
from streams.runtime_config.resolve import Effective

# user:password@ in a URL (a schema registry's, an advertised API's)
_URL_CREDENTIALS = re.compile(r"(?<=//)[^/@\s]+@")
MASK = "**********"  # pydantic's own rendering of a SecretStr (the API tokens)


def effective_view(
    settings: ServiceSettings, effective: Effective, applied: Applied | None
) -> dict[str, Any]:
    view = settings.model_dump(mode="json", exclude={"recoveryManager", "strategyConfigs"})
    view["execution"] = {"max_concurrent": effective.max_concurrent}
    view["strategies"] = {
        name: knobs.model_dump(mode="json") for name, knobs in sorted(effective.strategies.items())
    }
    given = settings if applied is None else applied.tunables()
    view["recoveryManager"] = given.recoveryManager.model_dump(mode="json", exclude_none=True)
    view["strategyConfigs"] = {
        error_type.value: config.model_dump(mode="json", exclude_none=True)
        for error_type, config in sorted(given.strategyConfigs.items())
    }
    view["applied"] = None if applied is None else {"by": applied.by, "at": applied.at}
    return {key: _masked(item) for key, item in view.items()}


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    if isinstance(value, str):
        return _URL_CREDENTIALS.sub(f"{MASK}@", value)
    return value
