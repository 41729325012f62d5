"""When no broker can be had, a Kafka test errors with the reason; it never skips."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_fixture_fails_with_reason_when_the_broker_cannot_start(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text())
    pytester.makepyfile(
        test_needs_kafka="def test_it(kafka_bootstrap):\n    assert kafka_bootstrap\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("TMC_BROKER_JAVA", "/nonexistent/java")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no Kafka broker for the tests: JavaNotFound*/nonexistent/java*"])
    assert "skipped" not in result.stdout.str()
