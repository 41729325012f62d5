import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.config import RetrySettings
from streams.execution import retry_delay

NO_JITTER = RetrySettings(base_delay_s=1.0, max_delay_s=30.0, multiplier=2.0, jitter=0.0)


@pytest.mark.parametrize(
    ("attempt", "expected"), [(1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0), (6, 30.0), (50, 30.0)]
)
def test_doubles_from_base_up_to_the_cap(attempt: int, expected: float) -> None:
    assert retry_delay(attempt, NO_JITTER, random.Random(0)) == expected


def test_jitter_spreads_around_the_exponential_delay() -> None:
    settings = RetrySettings(base_delay_s=1.0, max_delay_s=30.0, multiplier=2.0, jitter=0.2)
    rng = random.Random(7)
    delays = [retry_delay(3, settings, rng) for _ in range(500)]
    assert all(3.2 <= d <= 4.8 for d in delays)
    assert max(delays) - min(delays) > 1.0  # really spread, not a constant


def test_same_seed_same_delays() -> None:
    settings = RetrySettings()
    first = [retry_delay(n, settings, random.Random(42)) for n in range(1, 8)]
    again = [retry_delay(n, settings, random.Random(42)) for n in range(1, 8)]
    assert first == again


def test_an_enormous_attempt_number_is_capped_not_an_overflow() -> None:
    assert retry_delay(100_000, NO_JITTER, random.Random(0)) == 30.0


@given(
    attempt=st.integers(min_value=-5, max_value=10_000),
    base=st.floats(min_value=0.001, max_value=100.0),
    cap=st.floats(min_value=0.001, max_value=3600.0),
    multiplier=st.floats(min_value=1.0, max_value=10.0),
    jitter=st.floats(min_value=0.0, max_value=1.0),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_delay_stays_within_zero_and_the_jittered_cap(
    attempt: int, base: float, cap: float, multiplier: float, jitter: float, seed: int
) -> None:
    settings = RetrySettings(
        base_delay_s=base, max_delay_s=cap, multiplier=multiplier, jitter=jitter
    )
    delay = retry_delay(attempt, settings, random.Random(seed))
    assert 0.0 <= delay <= cap * (1 + jitter)
