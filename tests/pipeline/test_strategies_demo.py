"""The demo's scripted incident, on the suite's broker: every strategy acts through a real
worker on the simulated fleet, and every incident ends as the demo expects."""

import io
from pathlib import Path

import pytest
from rich.console import Console

from streams.demo.__main__ import play
from streams.testing.brokers import ProvidedBroker

pytestmark = pytest.mark.kafka


async def test_every_incident_ends_as_expected(kafka_bootstrap: str, tmp_path: Path) -> None:
    screen = io.StringIO()
    console = Console(file=screen, width=160)
    broker = ProvidedBroker(kafka_bootstrap, "the suite's broker", None, lambda: None)

    passed = await play(console, broker, tmp_path)

    text = screen.getvalue()
    assert passed, text
    assert "emitted 147 errors for 9 incidents" in text
    assert "│ ResourceConflict    │ 1         │ 0         │ 99" in text
