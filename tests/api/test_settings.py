"""The api section: loopback by default, a URL a static member keeps across restarts, and a
busy port refused in one line."""

import socket

import pytest

from streams.config import load_service_settings
from streams.settings_loader import ConfigError
from streams.testing.harness import PipelineEnv
from tests.cli import assert_one_line_error, run_cli


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


@pytest.mark.kafka
def test_a_busy_api_port_stops_the_worker_with_one_line(env: PipelineEnv) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_cli("worker", "-c", str(env.config("w1", api={"port": port})), timeout=60)
    assert_one_line_error(result, f"cannot serve the API on 127.0.0.1:{port}", "api.port")
