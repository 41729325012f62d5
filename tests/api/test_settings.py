"""The api section: loopback by default, and a URL a static member keeps across restarts."""

import pytest

from streams.config import load_service_settings
from streams.settings_loader import ConfigError


def test_the_api_binds_loopback_on_a_fixed_port_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TMC_API__HOST", "TMC_API__PORT", "TMC_API__ENABLED"):
        monkeypatch.delenv(name, raising=False)
    api = load_service_settings().api
    assert (api.enabled, api.host, api.port, api.advertised_url) == (True, "127.0.0.1", 6066, None)


def test_a_static_member_needs_a_fixed_api_port() -> None:
    with pytest.raises(ConfigError, match=r"api.port 0 .* static member"):
        load_service_settings(kafka={"instance_id": "pod-0"}, api={"port": 0})
    assert load_service_settings(kafka={"instance_id": "pod-0"}, api={"port": 7000}).api.port
    disabled = load_service_settings(
        kafka={"instance_id": "pod-0"}, api={"enabled": False, "port": 0}
    )
    assert not disabled.api.enabled
