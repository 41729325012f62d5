"""Ages as Go's time.Duration.String() prints them, rounded to the second."""

import pytest

from streams.api.duration import go_duration


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0s"),
        (0.4, "0s"),
        (45, "45s"),
        (45.6, "46s"),
        (59.5, "1m0s"),
        (60, "1m0s"),
        (85, "1m25s"),
        (3600, "1h0m0s"),
        (3725, "1h2m5s"),
        (90061, "25h1m1s"),
        (-3, "0s"),
    ],
)
def test_go_duration(seconds: float, expected: str) -> None:
    assert go_duration(seconds) == expected
